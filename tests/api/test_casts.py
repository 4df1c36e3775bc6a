"""Casting through the HTTP API on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.platform.server import Platform
from tests.server_fixtures import publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio


async def test_a_sync_cast_of_a_wasm_spell_returns_its_output_inline(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    caster = seed_user(platform, "caster@example.com", ["caster"])
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "k-1", "Prefer": "wait=10"},
        json={"input": {"name": "world"}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["output"] == {"greeting": "hello", "input": {"name": "world"}}
    assert body["idempotent_replay"] is False
    assert body["spell_digest"].startswith("sha256:")
