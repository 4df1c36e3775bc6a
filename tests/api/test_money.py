"""Money through the HTTP API on SQLite and PostgreSQL: estimates, holds, charges, caps, ledger, audit."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.platform.audit.service import AuditService
from spell.platform.auth.errors import ScopeNotAllowed
from spell.platform.ledger.service import PLATFORM, LedgerService
from spell.platform.server import Platform
from tests.api.money_helpers import EVENTS_WAT, FLAT, PER_EVENT, credit, publish_priced
from tests.fixtures.server import publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio


async def _cast(
    client: httpx.AsyncClient, headers: dict[str, str], key: str, spell: str = "acme/paid"
) -> httpx.Response:
    return await client.post(
        f"/v1/spells/{spell}/cast",
        headers={**headers, "Idempotency-Key": key, "Prefer": "wait=10"},
        json={"input": {"name": "x"}},
    )


async def test_estimate_is_the_flat_price_and_zero_for_free_spells(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    await publish(client, maker, tmp_path)
    caster = seed_user(platform, "c@example.com", ["caster"])
    paid = await client.post("/v1/spells/acme/paid/estimate", headers=caster.headers, json={})
    assert paid.status_code == 200, paid.text
    assert paid.json()["estimate"] == {"amount_micros": 250_000, "currency": "USD", "amount": "0.250000"}
    assert paid.json()["pricing_model"] == "flat"
    free = await client.post(
        "/v1/spells/acme/hello/estimate", headers=caster.headers, json={"version": "1.0.0"}
    )
    assert free.json()["estimate"]["amount_micros"] == 0
    missing = await client.post("/v1/spells/acme/none/estimate", headers=caster.headers, json={})
    assert missing.json()["error"]["code"] == "SPELL_NOT_FOUND"


async def test_a_paid_cast_without_credit_is_refused_with_402(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    caster = seed_user(platform, "c@example.com", ["caster"])
    response = await _cast(client, caster.headers, "k1")
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "INSUFFICIENT_CREDITS"
    listed = await client.get("/v1/casts", headers=caster.headers)
    assert listed.json()["items"] == []


async def test_a_paid_cast_is_charged_once_and_split_with_the_maker(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    caster = seed_user(platform, "c@example.com", ["caster"])
    credit(platform, caster.user_id, 1_000_000)
    first = await _cast(client, caster.headers, "k1")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "succeeded"
    replay = await _cast(client, caster.headers, "k1")
    assert replay.json()["idempotent_replay"] is True
    with platform.db.unit_of_work(write=False) as uow:
        ledger = LedgerService()
        ledger.verify(uow)
        assert ledger.balance(uow, caster.user_id, "wallet", "USD").micros == 750_000
        assert ledger.balance(uow, maker.tenant_id, "earnings", "USD").micros == 200_000
        assert ledger.balance(uow, PLATFORM, "revenue", "USD").micros == 50_000
    entries = (await client.get("/v1/ledger", headers=caster.headers, params={"limit": 2})).json()
    assert entries["next_cursor"] is not None
    rest = await client.get("/v1/ledger", headers=caster.headers, params={"cursor": entries["next_cursor"]})
    items = [(e["kind"], e["account"]) for e in [*entries["items"], *rest.json()["items"]]]
    assert items[0] == ("capture", "holds")  # the flat price used the whole hold: no wallet leg
    assert sorted(items[1:3]) == [("reserve", "holds"), ("reserve", "wallet")]
    assert items[3:] == [("credit", "wallet")]
    usage = (await client.get("/v1/usage", headers=caster.headers)).json()
    assert usage["items"] == [{"spell": "acme/paid", "currency": "USD", "amount_micros": 250_000, "casts": 1}]
    by_day = (await client.get("/v1/usage", headers=caster.headers, params={"group_by": "day"})).json()
    assert by_day["items"][0]["amount_micros"] == 250_000
    earned = (await client.get("/v1/earnings", headers=maker.headers)).json()
    assert earned["balances"] == [{"currency": "USD", "amount_micros": 200_000}]
    assert earned["spells"][0]["casts"] == 1


async def test_usage_refuses_a_bad_range(client: httpx.AsyncClient, platform: Platform) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    bad = await client.get("/v1/usage", headers=caster.headers, params={"from": "yesterday"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "VALIDATION_ERROR")
    backwards = await client.get(
        "/v1/usage",
        headers=caster.headers,
        params={"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
    )
    assert backwards.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_a_budget_cap_refuses_the_cast_that_would_pass_it(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    caster = seed_user(platform, "c@example.com", ["caster"])
    credit(platform, caster.user_id, 10_000_000)
    put = await client.put("/v1/budget", headers=caster.headers, json={"daily_micros": 400_000})
    assert put.status_code == 200, put.text
    assert put.json()["caps"]["daily_micros"] == 400_000
    assert (await _cast(client, caster.headers, "k1")).status_code == 200
    refused = await _cast(client, caster.headers, "k2")
    assert refused.status_code == 402
    error = refused.json()["error"]
    assert error["code"] == "BUDGET_CAP_EXCEEDED"
    assert {k: error["details"][k] for k in ("cap", "window", "spent", "reserved", "estimate")} == {
        "cap": 400_000,
        "window": "daily",
        "spent": 250_000,
        "reserved": 0,
        "estimate": 250_000,
    }
    assert 0 < error["retry_after"] <= 86_400
    view = (await client.get("/v1/budget", headers=caster.headers)).json()
    daily = next(w for w in view["windows"] if w["window"] == "daily")
    assert (daily["spent_micros"], view["balance_micros"]) == (250_000, 9_750_000)
    invalid = await client.put("/v1/budget", headers=caster.headers, json={"daily_micros": -1})
    assert invalid.status_code == 422


async def test_the_audit_log_is_for_auditors_and_admins(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    await client.put("/v1/budget", headers=caster.headers, json={"monthly_micros": 5})
    denied = await client.get("/v1/audit", headers=caster.headers)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "FORBIDDEN")
    admin = seed_user(platform, "root@example.com", ["admin"], scopes=["admin", "audit:read"])
    page = (await client.get("/v1/audit", headers=admin.headers, params={"action": "budget.changed"})).json()
    assert [r["subject"] for r in page["items"]] == [caster.user_id]
    assert page["items"][0]["hash"].startswith("sha256:")
    auditor = seed_user(platform, "aud@example.com", ["auditor"], scopes=["audit:read"])
    own_tenant = (await client.get("/v1/audit", headers=auditor.headers)).json()
    assert {r["tenant_id"] for r in own_tenant["items"]} == {auditor.tenant_id}  # its own key.created only
    with pytest.raises(ScopeNotAllowed):  # a caster's key cannot carry audit:read at all
        seed_user(platform, "k@example.com", ["caster"], scopes=["audit:read"])


async def test_a_cast_leaves_a_verified_audit_trail(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    caster = seed_user(platform, "c@example.com", ["caster"])
    credit(platform, caster.user_id, 1_000_000)
    cast = await _cast(client, caster.headers, "k1")
    cast_id = cast.json()["id"]
    with platform.db.unit_of_work(write=False) as uow:
        audit = AuditService()
        assert audit.verify(uow).records >= 3
        mine = [
            (r.action, r.data.get("outcome"))
            for r in audit.list(uow, tenant_id=caster.tenant_id)
            if r.subject == cast_id
        ]
    assert mine == [("cast.created", None), ("cast.terminal", "SUCCEEDED"), ("charge.captured", None)]


async def test_a_per_event_spell_is_charged_for_the_declared_events_it_reports(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, PER_EVENT, wat=EVENTS_WAT)
    caster = seed_user(platform, "c@example.com", ["caster"])
    credit(platform, caster.user_id, 1_000_000)
    estimate = await client.post("/v1/spells/acme/paid/estimate", headers=caster.headers, json={})
    assert estimate.json()["estimate"]["amount_micros"] == 10 + 5 * 500
    cast = await _cast(client, caster.headers, "k1")
    assert cast.json()["output"] == {"spell_events": {"page": 3, "bogus": 9}}
    with platform.db.unit_of_work(write=False) as uow:
        ledger = LedgerService()
        assert ledger.balance(uow, caster.user_id, "wallet", "USD").micros == 1_000_000 - (10 + 3 * 100)
