"""Input validation of a cast through the HTTP API: JSON Pointer paths, unusable maker schemas."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from spell.models import SpellVersion
from spell.platform.server import Platform
from tests.fixtures.bundles import archive_of, wasm_bundle
from tests.fixtures.server import publish, seed_maker, seed_user

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


async def test_the_server_refuses_input_in_the_words_of_the_local_cast(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    error = (await _cast(client, platform, tmp_path, TYPED)).json()["error"]
    assert error["message"].startswith("input does not match the schema: /: ")
    assert error["message"].endswith("(and 1 more)")


async def test_a_schema_that_cannot_compile_is_refused_at_publish(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    bundle = wasm_bundle(
        tmp_path / "remote-ref",
        "acme/hello",
        signer=maker.publisher,
        schema={"properties": {"n": {"$ref": "https://x.test/n.json"}}},
    )
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_BUNDLE"


async def test_a_stored_schema_that_cannot_compile_refuses_the_cast_as_an_invalid_bundle(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    # Versions stored before publish checked schemas can still hold one; the cast must refuse it.
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, schema=TYPED)
    with platform.db.unit_of_work() as uow:
        uow.session.execute(
            update(SpellVersion)
            .where(SpellVersion.spell_id == "acme/hello")
            .values(input_schema={"properties": {"n": {"$ref": "https://x.test/n.json"}}})
        )
    caster = seed_user(platform, "caster@example.com", ["caster"])
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "k"},
        json={"input": {"name": "x"}},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_BUNDLE"
