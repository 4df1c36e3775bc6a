"""1000 casts racing through the HTTP API (sync and async mixed) against a cap worth exactly 100."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from spell.platform.ledger.service import LedgerService
from spell.platform.server import Platform
from tests.api.money_helpers import FLAT, credit, publish_priced
from tests.fixtures.server import seed_maker, seed_user

pytestmark = pytest.mark.anyio
PRICE, CASTS, WINNERS = 250_000, 1000, 100


async def test_racing_casts_over_http_charge_exactly_the_cap(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    caster = seed_user(platform, "c@example.com", ["caster"])
    credit(platform, caster.user_id, PRICE * CASTS)
    put = await client.put("/v1/budget", headers=caster.headers, json={"monthly_micros": PRICE * WINNERS})
    assert put.status_code == 200

    async def cast(index: int) -> httpx.Response:
        headers = {**caster.headers, "Idempotency-Key": f"race-{index}"}
        if index % 2:
            headers["Prefer"] = "wait=20"  # the sync half waits inline; the other half gets 202
        return await client.post("/v1/spells/acme/paid/cast", headers=headers, json={"input": {"name": "x"}})

    responses = await asyncio.gather(*(cast(i) for i in range(CASTS)))
    accepted = [r for r in responses if r.status_code in (200, 202)]
    refused = [r for r in responses if r.status_code == 402]
    assert (len(accepted), len(refused)) == (WINNERS, CASTS - WINNERS)
    assert {r.json()["error"]["code"] for r in refused} == {"BUDGET_CAP_EXCEEDED"}
    for response in accepted:
        done = await client.get(
            f"/v1/casts/{response.json()['id']}", headers=caster.headers, params={"wait": 20}
        )
        assert done.json()["status"] == "succeeded", done.text
    with platform.db.unit_of_work(write=False) as uow:
        ledger = LedgerService()
        ledger.verify(uow)
        assert ledger.balance(uow, caster.user_id, "wallet", "USD").micros == PRICE * (CASTS - WINNERS)
        assert ledger.balance(uow, caster.user_id, "holds", "USD").micros == 0
        monthly = next(w for w in platform.budgets.view(uow, caster.user_id).windows if w.window == "monthly")
    assert (monthly.spent_micros, monthly.reserved_micros) == (PRICE * WINNERS, 0)
