"""Card payments through the HTTP API (real stripe SDK, fake Stripe server) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from spell.platform.billing.stripe_provider import StripeProvider
from spell.platform.ledger.service import LedgerService
from spell.platform.server import Platform
from tests.fakes.stripe_server import FakeStripe, event, sign_payload
from tests.fixtures.server import seed_user

pytestmark = pytest.mark.anyio
SECRET = "whsec_api_test"


@pytest.fixture
def stripe_platform(platform: Platform, fake_stripe: FakeStripe) -> Platform:
    platform.payments.provider = StripeProvider("sk_test_api", SECRET, api_base=fake_stripe.url)
    return platform


def _wallet(platform: Platform, user_id: str) -> int:
    with platform.db.unit_of_work(write=False) as uow:
        return LedgerService().balance(uow, user_id, "wallet", "USD").micros


async def test_without_stripe_card_routes_answer_503(client: httpx.AsyncClient, platform: Platform) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    response = await client.post(
        "/v1/billing/portal-url", headers=caster.headers, json={"return_url": "https://x"}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (503, "PAYMENTS_UNAVAILABLE")
    hook = await client.post("/v1/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=x"})
    assert hook.status_code == 503


async def test_checkout_portal_and_top_up(
    client: httpx.AsyncClient, stripe_platform: Platform, fake_stripe: FakeStripe
) -> None:
    caster = seed_user(stripe_platform, "c@example.com", ["caster"])
    checkout = await client.post(
        "/v1/billing/checkout-url",
        headers=caster.headers,
        json={"success_url": "https://x/ok", "cancel_url": "https://x/no", "top_up_micros": 20_000_000},
    )
    assert checkout.status_code == 200, checkout.text
    assert checkout.json()["url"].startswith("https://checkout.stripe.test/")
    portal = await client.post(
        "/v1/billing/portal-url", headers=caster.headers, json={"return_url": "https://x"}
    )
    assert portal.json()["url"].startswith("https://billing.stripe.test/")
    top_up = await client.post(
        "/v1/billing/top-ups",
        headers={**caster.headers, "Idempotency-Key": "t-1"},
        json={"amount_micros": 5_000_000},
    )
    assert top_up.status_code == 201, top_up.text
    assert top_up.json()["status"] == "succeeded"
    assert fake_stripe.calls("/v1/payment_intents")[0].idempotency_key == f"topup:{caster.user_id}:t-1"
    assert len(fake_stripe.calls("/v1/customers")) == 1
    assert _wallet(stripe_platform, caster.user_id) == 5_000_000
    odd = await client.post(
        "/v1/billing/top-ups", headers={**caster.headers, "Idempotency-Key": "t-2"}, json={"amount_micros": 1}
    )
    assert odd.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_a_declined_top_up_is_402(
    client: httpx.AsyncClient, stripe_platform: Platform, fake_stripe: FakeStripe
) -> None:
    caster = seed_user(stripe_platform, "c@example.com", ["caster"])
    await client.post("/v1/billing/portal-url", headers=caster.headers, json={"return_url": "https://x"})
    fake_stripe.declining.add(_customer_id(fake_stripe))
    declined = await client.post(
        "/v1/billing/top-ups",
        headers={**caster.headers, "Idempotency-Key": "t-1"},
        json={"amount_micros": 5_000_000},
    )
    assert (declined.status_code, declined.json()["error"]["code"]) == (402, "PAYMENT_FAILED")
    assert _wallet(stripe_platform, caster.user_id) == 0


def _customer_id(fake: FakeStripe) -> str:
    return str(fake.made("/v1/customers")[0]["id"])


async def test_the_same_webhook_five_times_has_one_effect_and_a_bad_signature_is_400(
    client: httpx.AsyncClient, stripe_platform: Platform
) -> None:
    caster = seed_user(stripe_platform, "c@example.com", ["caster"])
    intent = {
        "id": "pi_api",
        "object": "payment_intent",
        "amount": 700,
        "amount_received": 700,
        "currency": "usd",
        "status": "succeeded",
        "metadata": {"user_id": caster.user_id},
    }
    body = event("payment_intent.succeeded", intent, event_id="evt_api_1")
    headers = {"Stripe-Signature": sign_payload(body, SECRET), "Content-Type": "application/json"}
    forged = await client.post(
        "/v1/webhooks/stripe",
        content=body,
        headers={**headers, "Stripe-Signature": sign_payload(body, "whsec_x")},
    )
    assert (forged.status_code, forged.json()["error"]["code"]) == (400, "WEBHOOK_SIGNATURE_INVALID")
    assert _wallet(stripe_platform, caster.user_id) == 0
    responses = await asyncio.gather(
        *(client.post("/v1/webhooks/stripe", content=body, headers=headers) for _ in range(5))
    )
    assert [r.status_code for r in responses] == [200] * 5
    assert sorted(r.json()["duplicate"] for r in responses) == [False, True, True, True, True]
    assert _wallet(stripe_platform, caster.user_id) == 7_000_000


async def test_openapi_documents_the_money_routes_and_their_errors(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in (
        "/v1/budget",
        "/v1/usage",
        "/v1/ledger",
        "/v1/earnings",
        "/v1/audit",
        "/v1/webhooks/stripe",
        "/v1/billing/checkout-url",
        "/v1/billing/portal-url",
        "/v1/billing/top-ups",
        "/v1/admin/refunds",
        "/v1/admin/payouts",
        "/v1/publishers/{publisher}/payouts",
        "/v1/entitlements",
    ):
        assert path in paths, path
    assert "400" in paths["/v1/webhooks/stripe"]["post"]["responses"]
    assert "402" in paths["/v1/budget"]["put"]["responses"]
