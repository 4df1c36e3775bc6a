"""Input validation of a cast through the HTTP API: JSON Pointer paths, unusable maker schemas."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.platform.server import Platform
from tests.server_fixtures import publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio

TYPED = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["name"],
}


async def _cast(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, schema: object
) -> httpx.Response:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, schema=schema)
    caster = seed_user(platform, "caster@example.com", ["caster"])
    return await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "k"},
        json={"input": {"tags": ["a", 2]}},
    )


async def test_input_problems_are_named_by_json_pointer(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    response = await _cast(client, platform, tmp_path, TYPED)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert [p["path"] for p in error["details"]["errors"]] == ["/", "/tags/1"]


async def test_a_published_schema_that_cannot_compile_refuses_the_cast_as_an_invalid_bundle(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    response = await _cast(
        client, platform, tmp_path, {"properties": {"n": {"$ref": "https://x.test/n.json"}}}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_BUNDLE"
