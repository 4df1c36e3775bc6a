"""Unsigned spells: allowed only when the operator says so; buttons may demand or waive signatures;
``SPELL_FORCE_REQUIRE_SIGNATURE`` beats every waiver."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import pytest

from spell.config.server import ServerSettings
from spell.platform.server import Platform
from tests.fixtures.bundles import archive_of, wasm_bundle
from tests.fixtures.server import Caller, seed_maker

pytestmark = pytest.mark.anyio


@pytest.fixture(params=[False, True], ids=["waivable", "forced"])
def server_settings(tmp_path: Path, database_url: str, request: pytest.FixtureRequest) -> ServerSettings:
    return ServerSettings.for_home(
        tmp_path / "home",
        database_url=database_url,
        secret_key="s",
        workers=2,
        allow_unsigned=True,
        force_require_signature=request.param,
    )


async def _press(client: httpx.AsyncClient, maker: Caller, button: str) -> httpx.Response:
    return await client.post(
        f"/v1/buttons/{button}/cast",
        json={"input": {"name": "x"}},
        headers={**maker.headers, "Idempotency-Key": button, "Prefer": "wait=10"},
    )


async def test_unsigned_spells_follow_the_operator_and_button_rules(
    client: httpx.AsyncClient, platform: Platform, server_settings: ServerSettings, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    bundle = wasm_bundle(tmp_path / "u", "acme/hello")
    published = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    forced = server_settings.force_require_signature
    if forced:  # forcing signatures also closes unsigned publishing
        assert published.json()["error"]["code"] == "SIGNATURE_MISSING"
        return
    assert published.status_code == 201
    assert published.json()["signer_key_id"] is None
    direct = await client.post(
        "/v1/spells/acme/hello/cast",
        json={"input": {"name": "x"}},
        headers={**maker.headers, "Idempotency-Key": "d", "Prefer": "wait=10"},
    )
    assert direct.json()["status"] == "succeeded"
    for button, required in (("strict", True), ("lax", False)):
        body = {"id": button, "spell_id": "acme/hello", "version": "1.0.0", "require_signature": required}
        assert (await client.post("/v1/buttons", headers=maker.headers, json=body)).status_code == 201
    assert (await _press(client, maker, "strict")).json()["error"]["code"] == "SIGNATURE_MISSING"
    assert (await _press(client, maker, "lax")).json()["status"] == "succeeded"


async def test_forcing_signatures_refuses_a_waiving_button_on_an_unsigned_spell(
    client: httpx.AsyncClient, platform: Platform, server_settings: ServerSettings, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    bundle = wasm_bundle(tmp_path / "u", "acme/hello")
    # Published while unsigned spells were allowed; the operator forces signatures afterwards.
    relaxed = dataclasses.replace(platform.casts.policy, force_require_signature=False)
    platform.spells.policy = dataclasses.replace(platform.spells.policy, allow_unsigned=True)
    assert (
        await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    ).status_code == 201
    body = {"id": "lax", "spell_id": "acme/hello", "version": "1.0.0", "require_signature": False}
    await client.post("/v1/buttons", headers=maker.headers, json=body)
    pressed = await _press(client, maker, "lax")
    if server_settings.force_require_signature:
        assert pressed.json()["error"]["code"] == "SIGNATURE_MISSING"
    else:
        assert relaxed.allow_unsigned
        assert pressed.json()["status"] == "succeeded"
