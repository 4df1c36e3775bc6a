"""``one_time`` pricing through the HTTP API: the first cast buys the spell, later casts are free, and
racing first casts charge once, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from spell.models import Hold
from spell.platform.ledger.service import LedgerService
from spell.platform.server import Platform
from tests.api.money_helpers import credit, publish_priced
from tests.fixtures.server import Caller, seed_maker, seed_user

pytestmark = pytest.mark.anyio
PRICE = 2_000_000
ONE_TIME = f"pricing:\n  model: one_time\n  amount_micros: {PRICE}\n"


async def _cast(client: httpx.AsyncClient, caster: Caller, key: str) -> httpx.Response:
    response = await client.post(
        "/v1/spells/acme/once/cast",
        headers={**caster.headers, "Idempotency-Key": key, "Prefer": "wait=20"},
        json={"input": {"name": "x"}},
    )
    assert response.status_code in (200, 202), response.text
    done = await client.get(f"/v1/casts/{response.json()['id']}", headers=caster.headers, params={"wait": 20})
    assert done.json()["status"] == "succeeded", done.text
    return done


def _wallet(platform: Platform, user_id: str) -> int:
    with platform.db.unit_of_work(write=False) as uow:
        LedgerService().verify(uow)
        return LedgerService().balance(uow, user_id, "wallet", "USD").micros


async def test_the_first_cast_buys_the_spell_and_later_casts_are_free(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, ONE_TIME, spell_id="acme/once")
    caster = seed_user(platform, "c@example.com", ["caster"])
    credit(platform, caster.user_id, 5 * PRICE)
    quote = await client.post("/v1/spells/acme/once/estimate", headers=caster.headers, json={})
    assert quote.json()["estimate"]["amount_micros"] == PRICE
    first = await _cast(client, caster, "buy")
    assert _wallet(platform, caster.user_id) == 4 * PRICE
    later = [await _cast(client, caster, f"again-{i}") for i in range(3)]
    assert _wallet(platform, caster.user_id) == 4 * PRICE
    with platform.db.unit_of_work(write=False) as uow:
        for cast in later:  # nothing held, nothing charged
            assert uow.session.get(Hold, cast.json()["id"]) is None
    quote = await client.post("/v1/spells/acme/once/estimate", headers=caster.headers, json={})
    assert quote.json()["estimate"]["amount_micros"] == 0
    owned = (await client.get("/v1/entitlements", headers=caster.headers)).json()["items"]
    assert [(e["spell_id"], e["cast_id"], e["price_micros"]) for e in owned] == [
        ("acme/once", first.json()["id"], PRICE)
    ]
    other = seed_user(platform, "d@example.com", ["caster"])  # a purchase is per caster
    credit(platform, other.user_id, PRICE, key="other")
    await _cast(client, other, "buy")
    assert _wallet(platform, other.user_id) == 0


async def test_racing_first_casts_charge_once(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, ONE_TIME, spell_id="acme/once")
    caster = seed_user(platform, "c@example.com", ["caster"])
    credit(platform, caster.user_id, 8 * PRICE)
    await asyncio.gather(*(_cast(client, caster, f"race-{i}") for i in range(8)))
    assert _wallet(platform, caster.user_id) == 7 * PRICE
    with platform.db.unit_of_work(write=False) as uow:
        ledger = LedgerService()
        assert ledger.balance(uow, caster.user_id, "holds", "USD").micros == 0
        assert ledger.balance(uow, maker.tenant_id, "earnings", "USD").micros == PRICE * 8 // 10
    owned = (await client.get("/v1/entitlements", headers=caster.headers)).json()["items"]
    assert len(owned) == 1
