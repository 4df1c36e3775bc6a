"""Money operations through the HTTP API on SQLite and PostgreSQL: idempotent top-ups, operator refunds,
maker payouts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from spell.platform.billing.stripe_provider import StripeProvider
from spell.platform.ledger.service import PLATFORM, LedgerService
from spell.platform.server import Platform
from tests.api.money_helpers import FLAT, credit, publish_priced
from tests.fakes.stripe_server import FakeStripe
from tests.fixtures.server import Caller, seed_maker, seed_user

pytestmark = pytest.mark.anyio


@pytest.fixture
def stripe_platform(platform: Platform, fake_stripe: FakeStripe) -> Platform:
    platform.payments.provider = StripeProvider("sk_test_ops", "whsec_ops", api_base=fake_stripe.url)
    return platform


def _balance(platform: Platform, owner: str, kind: str = "wallet") -> int:
    with platform.db.unit_of_work(write=False) as uow:
        LedgerService().verify(uow)
        return LedgerService().balance(uow, owner, kind, "USD").micros


def _admin(platform: Platform) -> Caller:
    return seed_user(platform, "ops@example.com", ["admin"], scopes=["admin"])


async def test_a_double_submitted_top_up_charges_once(
    client: httpx.AsyncClient, stripe_platform: Platform, fake_stripe: FakeStripe
) -> None:
    caster = seed_user(stripe_platform, "c@example.com", ["caster"])
    await client.post("/v1/billing/portal-url", headers=caster.headers, json={"return_url": "https://x"})
    headers = {**caster.headers, "Idempotency-Key": "order-77"}
    responses = await asyncio.gather(
        *(
            client.post("/v1/billing/top-ups", headers=headers, json={"amount_micros": 4_000_000})
            for _ in range(3)
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(fake_stripe.made("/v1/payment_intents")) == 1
    assert _balance(stripe_platform, caster.user_id) == 4_000_000
    other = await client.post("/v1/billing/top-ups", headers=headers, json={"amount_micros": 9_000_000})
    assert (other.status_code, other.json()["error"]["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    missing = await client.post(
        "/v1/billing/top-ups", headers=caster.headers, json={"amount_micros": 4_000_000}
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (422, "IDEMPOTENCY_KEY_REQUIRED")
    assert missing.json()["error"]["hint"]
    assert len(fake_stripe.calls("/v1/payment_intents")) == 1


async def _charged_cast(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> tuple[Caller, Caller, str]:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    caster = seed_user(platform, "c@example.com", ["caster"])
    credit(platform, caster.user_id, 1_000_000)
    cast = await client.post(
        "/v1/spells/acme/paid/cast",
        headers={**caster.headers, "Idempotency-Key": "k1", "Prefer": "wait=20"},
        json={"input": {"name": "x"}},
    )
    cast_id = cast.json()["id"]
    done = await client.get(f"/v1/casts/{cast_id}", headers=caster.headers, params={"wait": 20})
    assert done.json()["status"] == "succeeded", done.text
    return maker, caster, cast_id


async def test_an_operator_refund_of_a_cast_is_a_ledger_reversal_that_verifies(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker, caster, cast_id = await _charged_cast(client, platform, tmp_path)
    assert _balance(platform, caster.user_id) == 750_000
    admin = _admin(platform)
    refund = {"cast_id": cast_id, "amount_micros": 100_000, "reason": "slow"}
    denied = await client.post(
        "/v1/admin/refunds", headers={**caster.headers, "Idempotency-Key": "r1"}, json=refund
    )
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "ROLE_REQUIRED")
    headers = {**admin.headers, "Idempotency-Key": "r1"}
    made = await client.post("/v1/admin/refunds", headers=headers, json=refund)
    assert made.status_code == 201, made.text
    assert (made.json()["amount_micros"], made.json()["maker_micros"]) == (100_000, 80_000)
    again = await client.post("/v1/admin/refunds", headers=headers, json=refund)
    assert (again.status_code, again.json()["id"], again.json()["replay"]) == (200, made.json()["id"], True)
    conflict = await client.post("/v1/admin/refunds", headers=headers, json={**refund, "amount_micros": 5})
    assert (conflict.status_code, conflict.json()["error"]["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    too_much = await client.post(
        "/v1/admin/refunds",
        headers={**admin.headers, "Idempotency-Key": "r2"},
        json={"cast_id": cast_id, "amount_micros": 150_001},
    )
    assert (too_much.status_code, too_much.json()["error"]["code"]) == (422, "REFUND_EXCEEDS_CHARGE")
    rest = await client.post(
        "/v1/admin/refunds", headers={**admin.headers, "Idempotency-Key": "r3"}, json={"cast_id": cast_id}
    )
    assert rest.json()["amount_micros"] == 150_000
    twice = await client.post(
        "/v1/admin/refunds", headers={**admin.headers, "Idempotency-Key": "r4"}, json={"cast_id": cast_id}
    )
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "ALREADY_REFUNDED")
    unknown = await client.post(
        "/v1/admin/refunds", headers={**admin.headers, "Idempotency-Key": "r5"}, json={"cast_id": "cast_nope"}
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "CHARGE_NOT_FOUND")
    assert _balance(platform, caster.user_id) == 1_000_000
    assert _balance(platform, maker.tenant_id, "earnings") == 0
    assert _balance(platform, PLATFORM, "revenue") == 0
    listed = await client.get("/v1/admin/refunds", headers=admin.headers, params={"cast_id": cast_id})
    assert [r["amount_micros"] for r in listed.json()["items"]] == [150_000, 100_000]
    both = await client.post(
        "/v1/admin/refunds",
        headers={**admin.headers, "Idempotency-Key": "r6"},
        json={"cast_id": cast_id, "payment_id": "txn_x"},
    )
    assert both.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_payouts_pay_the_maker_once_and_the_maker_sees_them(
    client: httpx.AsyncClient, stripe_platform: Platform, fake_stripe: FakeStripe, tmp_path: Path
) -> None:
    maker, _, _ = await _charged_cast(client, stripe_platform, tmp_path)
    admin = _admin(stripe_platform)
    fake_stripe.accounts.add("acct_acme")
    account = await client.put(
        "/v1/admin/publishers/acme/payout-account",
        headers=admin.headers,
        json={"stripe_account_id": "acct_acme"},
    )
    assert account.json() == {"publisher": "acme", "stripe_account_id": "acct_acme"}
    dry = await client.post("/v1/admin/payouts", headers=admin.headers, json={"dry_run": True})
    assert [(o["maker_id"], o["amount_micros"]) for o in dry.json()["owed"]] == [(maker.tenant_id, 200_000)]
    denied = await client.post("/v1/admin/payouts", headers=maker.headers, json={})
    assert denied.status_code == 403
    run = await client.post("/v1/admin/payouts", headers=admin.headers, json={"publisher": "acme"})
    assert run.status_code == 200, run.text
    (payout,) = run.json()["payouts"]
    assert (payout["method"], payout["amount_micros"]) == ("stripe_transfer", 200_000)
    assert fake_stripe.calls("/v1/transfers")[0].params["destination"] == "acct_acme"
    again = await client.post("/v1/admin/payouts", headers=admin.headers, json={"publisher": "acme"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "NOTHING_OWED")
    assert _balance(stripe_platform, maker.tenant_id, "earnings") == 0
    assert _balance(stripe_platform, maker.tenant_id, "payouts") == 200_000
    mine = await client.get("/v1/publishers/acme/payouts", headers=maker.headers)
    assert [p["id"] for p in mine.json()["items"]] == [payout["id"]]
    stranger = await seed_maker(client, stripe_platform, "other@example.com", publisher="beta")
    theirs = await client.get("/v1/publishers/acme/payouts", headers=stranger.headers)
    assert (theirs.status_code, theirs.json()["error"]["code"]) == (403, "TENANT_FORBIDDEN")
