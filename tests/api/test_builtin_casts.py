"""Builtin spells on the server: published and cast like any other, with no operator switch; a name the
platform does not ship is refused at publish."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.platform.server import Platform
from tests.fixtures.bundles import archive_of, builtin_bundle
from tests.fixtures.server import seed_maker, seed_user

pytestmark = pytest.mark.anyio


async def test_a_builtin_spell_is_published_and_cast(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    bundle = builtin_bundle(tmp_path / "b", "acme/digest", builtin="hash", signer=maker.publisher)
    published = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert published.status_code == 201, published.text
    caster = seed_user(platform, "caster@example.com", ["caster"])
    response = await client.post(
        "/v1/spells/acme/digest/cast",
        headers={**caster.headers, "Idempotency-Key": "k-1", "Prefer": "wait=10"},
        json={"input": {"data": "abc"}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded", body["error"]
    assert body["output"]["hex"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


async def test_input_the_function_refuses_fails_the_cast(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    bundle = builtin_bundle(tmp_path / "b", "acme/digest", builtin="hash", signer=maker.publisher)
    assert (
        await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    ).status_code == 201
    response = await client.post(
        "/v1/spells/acme/digest/cast",
        headers={**maker.headers, "Idempotency-Key": "k-1", "Prefer": "wait=10"},
        json={"input": {"data": "abc", "algorithm": "md5"}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "failed"


async def test_a_builtin_this_platform_does_not_ship_is_refused_at_publish(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    bundle = builtin_bundle(tmp_path / "b", "acme/nope", builtin="shell.exec", signer=maker.publisher)
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["builtin"] == "shell.exec"
    assert (await client.get("/v1/spells/acme/nope", headers=maker.headers)).status_code == 404
