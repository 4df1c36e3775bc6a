"""Hostile or broken payment traffic: a malformed event with a valid signature is acknowledged and
recorded without moving money; Stripe out of reach is 503 ``PAYMENTS_UNAVAILABLE`` and charges nothing."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from spell.models.payment import PaymentCustomer, PaymentRecord, WebhookEvent
from spell.platform.audit.service import AuditService
from spell.platform.billing.stripe_provider import StripeProvider
from spell.platform.ledger.service import LedgerService
from spell.platform.server import Platform
from tests.fakes.stripe_server import FakeStripe, event, sign_payload
from tests.fixtures.server import seed_user

pytestmark = pytest.mark.anyio
SECRET = "whsec_hostile_test"


@pytest.fixture
def stripe_platform(platform: Platform, fake_stripe: FakeStripe) -> Platform:
    platform.payments.provider = StripeProvider("sk_test_api", SECRET, api_base=fake_stripe.url)
    return platform


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _wallet(platform: Platform, user_id: str) -> int:
    with platform.db.unit_of_work(write=False) as uow:
        return LedgerService().balance(uow, user_id, "wallet", "USD").micros


def _count(platform: Platform, model: Any) -> int:
    with platform.db.unit_of_work(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def _malformed_audits(platform: Platform) -> list[dict[str, Any]]:
    with platform.db.unit_of_work(write=False) as uow:
        records = AuditService().list(uow, action="payment.webhook_malformed", limit=100)
        return [{"subject": r.subject, **r.data} for r in records]


def _intent(user_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": "pi_hostile",
        "object": "payment_intent",
        "amount": 700,
        "amount_received": 700,
        "currency": "usd",
        "status": "succeeded",
        "metadata": {"user_id": user_id},
        **changes,
    }


def _malformed_bodies(user_id: str) -> dict[str, bytes]:
    return {
        "not JSON": b"{this is not json",
        "NaN amount": event("payment_intent.succeeded", _intent(user_id), event_id="evt_nan").replace(
            b'"amount_received": 700', b'"amount_received": NaN'
        ),
        "not an object": b'["evt", 1]',
        "no id": json.dumps({"type": "payment_intent.succeeded", "data": {"object": {}}}).encode(),
        "an id too long for its column": event("charge.refunded", {}, event_id="evt_" + "x" * 500),
        "no data.object": json.dumps({"id": "evt_noobj", "type": "charge.refunded", "data": 5}).encode(),
        "text amount": event(
            "payment_intent.succeeded", _intent(user_id, amount_received="lots"), event_id="evt_text"
        ),
        "amount past int64": event(
            "payment_intent.succeeded", _intent(user_id, amount_received=2**70), event_id="evt_big"
        ),
        "no currency": event(
            "payment_intent.succeeded", _intent(user_id, currency=None), event_id="evt_nocur"
        ),
        "metadata not an object": event(
            "payment_intent.succeeded", _intent(user_id, metadata=["x"]), event_id="evt_meta"
        ),
        "checkout without an amount": event(
            "checkout.session.completed",
            {
                "mode": "payment",
                "payment_status": "paid",
                "payment_intent": "pi_x",
                "metadata": {"user_id": user_id},
            },
            event_id="evt_checkout",
        ),
        "dispute with an object amount": event(
            "charge.dispute.created",
            {"id": "dp_1", "payment_intent": "pi_x", "amount": {"v": 1}, "currency": "usd"},
            event_id="evt_dispute",
        ),
    }


async def test_a_malformed_event_with_a_valid_signature_is_acknowledged_recorded_and_moves_no_money(
    client: httpx.AsyncClient, stripe_platform: Platform
) -> None:
    caster = seed_user(stripe_platform, "c@example.com", ["caster"])
    bodies = _malformed_bodies(caster.user_id)
    for name, body in bodies.items():
        headers = {"Stripe-Signature": sign_payload(body, SECRET), "Content-Type": "application/json"}
        first = await client.post("/v1/webhooks/stripe", content=body, headers=headers)
        assert first.status_code == 200, (name, first.text)
        assert first.json()["received"] is True
        assert first.json()["handled"] is False
        assert first.json()["problem"], name
        again = await client.post("/v1/webhooks/stripe", content=body, headers=headers)
        assert again.status_code == 200, (name, again.text)
        assert again.json()["duplicate"] is True, name
    assert _wallet(stripe_platform, caster.user_id) == 0
    assert _count(stripe_platform, PaymentRecord) == 0
    assert _count(stripe_platform, WebhookEvent) == len(bodies)
    assert len(_malformed_audits(stripe_platform)) == len(bodies)


async def test_a_well_formed_event_still_credits_after_malformed_ones(
    client: httpx.AsyncClient, stripe_platform: Platform
) -> None:
    caster = seed_user(stripe_platform, "c@example.com", ["caster"])
    bad = event("payment_intent.succeeded", _intent(caster.user_id, amount_received=-5), event_id="evt_neg")
    good = event("payment_intent.succeeded", _intent(caster.user_id), event_id="evt_good")
    for body in (bad, good):
        answer = await client.post(
            "/v1/webhooks/stripe", content=body, headers={"Stripe-Signature": sign_payload(body, SECRET)}
        )
        assert answer.status_code == 200, answer.text
    assert _wallet(stripe_platform, caster.user_id) == 7_000_000
    assert [a["subject"] for a in _malformed_audits(stripe_platform)] == ["evt_neg"]


async def test_a_malformed_event_with_a_bad_signature_is_still_400(
    client: httpx.AsyncClient, stripe_platform: Platform
) -> None:
    body = b"{this is not json"
    for signature in (sign_payload(body, "whsec_other").encode(), b"t=1,v1=00", "\u00e9".encode()):
        answer = await client.post(
            "/v1/webhooks/stripe", content=body, headers={b"Stripe-Signature": signature}
        )
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "WEBHOOK_SIGNATURE_INVALID")
    assert _count(stripe_platform, WebhookEvent) == 0


async def test_stripe_unreachable_is_503_payments_unavailable_and_changes_nothing(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    platform.payments.provider = StripeProvider(
        "sk_test_api", SECRET, api_base=f"http://127.0.0.1:{_closed_port()}", max_network_retries=0
    )
    caster = seed_user(platform, "c@example.com", ["caster"])
    for url, body in [
        ("/v1/billing/top-ups", {"amount_micros": 5_000_000}),
        ("/v1/billing/portal-url", {"return_url": "https://x"}),
        ("/v1/billing/checkout-url", {"success_url": "https://x", "cancel_url": "https://x"}),
    ]:
        headers = {**caster.headers, "Idempotency-Key": "top-up-1"}
        answer = await client.post(url, headers=headers, json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (503, "PAYMENTS_UNAVAILABLE"), url
        assert answer.headers["Retry-After"] == "30"
    assert _wallet(platform, caster.user_id) == 0
    assert _count(platform, PaymentRecord) == 0
    assert _count(platform, PaymentCustomer) == 0


async def test_stripe_unreachable_after_the_customer_exists_is_503_and_records_no_payment(
    client: httpx.AsyncClient, stripe_platform: Platform, fake_stripe: FakeStripe
) -> None:
    caster = seed_user(stripe_platform, "c@example.com", ["caster"])
    portal = await client.post(
        "/v1/billing/portal-url", headers=caster.headers, json={"return_url": "https://x"}
    )
    assert portal.status_code == 200, portal.text
    stripe_platform.payments.provider = StripeProvider(
        "sk_test_api", SECRET, api_base=f"http://127.0.0.1:{_closed_port()}", max_network_retries=0
    )
    answer = await client.post(
        "/v1/billing/top-ups",
        headers={**caster.headers, "Idempotency-Key": "top-up-1"},
        json={"amount_micros": 5_000_000},
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (503, "PAYMENTS_UNAVAILABLE")
    assert _count(stripe_platform, PaymentRecord) == 0
    assert _wallet(stripe_platform, caster.user_id) == 0
