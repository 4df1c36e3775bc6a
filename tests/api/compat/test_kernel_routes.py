"""The Spell v1 kernel routes under /api: the /v1 answers with ``ok`` added, refusals in
spell-runtime's shape."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.platform.server import Platform
from tests.fixtures.clock import clock, platform
from tests.fixtures.server import publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio

# The platform's clock moves only when a test moves it: the two budget reads compared below tell the
# same seconds to a window's reset, whenever the second turns between them.
__all__ = ["clock", "platform"]


async def test_execute_estimate_and_me_alias_the_v1_routes(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    caster = seed_user(platform, "caster@example.com", ["caster"])
    headers = {**caster.headers, "Idempotency-Key": "k1", "Prefer": "wait=10"}
    body = {"spell_id": "acme/hello", "input": {"name": "kernel"}}
    ran = await client.post("/api/spell/execute", headers=headers, json=body)
    assert ran.status_code == 200, ran.text
    cast = ran.json()
    assert cast["ok"] is True
    assert cast["execution_id"] == cast["id"]
    assert cast["status"] == "succeeded"
    assert cast["output"] == {"greeting": "hello", "input": {"name": "kernel"}}
    assert cast["idempotent_replay"] is False
    replay = await client.post("/api/spell/execute", headers=headers, json=body)
    assert replay.json()["id"] == cast["id"]
    assert replay.json()["idempotent_replay"] is True
    v1 = (await client.get(f"/v1/casts/{cast['id']}", headers=caster.headers)).json()
    assert v1["output"] == cast["output"]

    estimate = await client.post(
        "/api/spell/estimate", headers=caster.headers, json={"spell_id": "acme/hello"}
    )
    assert estimate.status_code == 200, estimate.text
    expected = await client.post("/v1/spells/acme/hello/estimate", headers=caster.headers, json={})
    assert estimate.json() == {"ok": True, **expected.json()}

    me = await client.get("/api/me", headers=caster.headers)
    assert me.json() == {"ok": True, **(await client.get("/v1/me", headers=caster.headers)).json()}

    budget = await client.get("/api/billing/budget", headers=caster.headers)
    assert budget.json() == {"ok": True, **(await client.get("/v1/budget", headers=caster.headers)).json()}


async def test_kernel_refusals_answer_spell_runtimes_shape(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "caster@example.com", ["caster"])
    missing = await client.post("/api/spell/execute", headers=caster.headers, json={"spell_id": "acme/none"})
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "SPELL_NOT_FOUND"
    assert missing.json()["ok"] is False
    malformed = await client.post("/api/spell/estimate", headers=caster.headers, json={"version": 1})
    assert (malformed.status_code, malformed.json()["error_code"]) == (400, "BAD_REQUEST")
    unauthenticated = await client.get("/api/me")
    assert (unauthenticated.status_code, unauthenticated.json()["error_code"]) == (401, "AUTH_REQUIRED")
    top_up = {"amount_micros": 5_000_000, "currency": "USD"}
    keyless = await client.post("/api/billing/top-ups", headers=caster.headers, json=top_up)
    assert keyless.json()["error_code"] == "IDEMPOTENCY_KEY_REQUIRED"
    no_card = await client.post(
        "/api/billing/top-ups", headers={**caster.headers, "Idempotency-Key": "t1"}, json=top_up
    )
    assert no_card.status_code == 503
    assert no_card.json()["error_code"] == "PAYMENTS_UNAVAILABLE"


async def test_an_admin_bans_and_lifts_a_ban_and_nobody_else_may(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    admin = seed_user(platform, "root@example.com", ["admin"], scopes=["admin", "keys:manage"])
    target = seed_user(platform, "bad@example.com", ["caster"])
    refused = await client.post("/api/admin/ban", headers=target.headers, json={"user_id": admin.user_id})
    assert (refused.status_code, refused.json()["error_code"]) == (403, "FORBIDDEN")
    banned = await client.post(
        "/api/admin/ban", headers=admin.headers, json={"user_id": target.user_id, "reason": "abuse"}
    )
    assert banned.json() == {"ok": True, "user_id": target.user_id, "is_banned": True, "reason": "abuse"}
    shut_out = await client.get("/api/me", headers=target.headers)
    assert (shut_out.status_code, shut_out.json()["error_code"]) == (403, "USER_BANNED")
    lifted = await client.post(
        "/api/admin/ban", headers=admin.headers, json={"user_id": target.user_id, "banned": False}
    )
    assert lifted.json()["is_banned"] is False
    assert (await client.get("/api/me", headers=target.headers)).status_code == 200
