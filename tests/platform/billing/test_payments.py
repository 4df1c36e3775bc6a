"""Card payments through the real ``stripe`` SDK against a local fake Stripe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from spell.config.billing import BillingSettings
from spell.errors import InvalidInput
from spell.kit.money import Money
from spell.kit.time import utcnow
from spell.models import Tenant, User
from spell.models.audit import AuditRecord
from spell.models.payment import WebhookEvent
from spell.platform.audit.service import AuditService
from spell.platform.billing.errors import PaymentFailed, PaymentsUnavailable, WebhookSignatureInvalid
from spell.platform.billing.payments import PaymentService
from spell.platform.billing.provider import WalletOnly, provider_from_settings
from spell.platform.billing.schemas import TopUp, WebhookReceipt
from spell.platform.billing.stripe_provider import StripeProvider
from spell.platform.ledger.service import PLATFORM, LedgerService
from spell.platform.ledger.service import Leg as LegOf
from spell.storage.session import Database
from tests.fakes.stripe_server import FakeStripe, event, sign_payload

SECRET = "whsec_test_secret"
USER = "usr_alice"


@pytest.fixture
def stripe_provider(fake_stripe: FakeStripe) -> StripeProvider:
    return StripeProvider("sk_test_123", SECRET, api_base=fake_stripe.url)


@pytest.fixture(autouse=True)
def alice(database: Database) -> None:
    """The paying user: her email goes to the provider's customer."""
    with database.unit_of_work() as uow:
        uow.session.add(Tenant(id="ten_alice", name="alice", created_at=utcnow()))
        uow.session.flush()
        uow.session.add(
            User(id=USER, email="alice@example.com", tenant_id="ten_alice", roles=[], created_at=utcnow())
        )


def _payments(provider: StripeProvider) -> PaymentService:
    return PaymentService(LedgerService(), AuditService(), provider)


def _wallet(db: Database, user: str = USER) -> int:
    with db.unit_of_work(write=False) as uow:
        LedgerService().verify(uow)
        return LedgerService().balance(uow, user, "wallet", "USD").micros


def _deliver(
    db: Database, provider: StripeProvider, body: bytes, signature: str | None = None
) -> WebhookReceipt:
    with db.unit_of_work() as uow:
        return _payments(provider).handle_webhook(uow, body, signature or sign_payload(body, SECRET))


def _top_up(db: Database, provider: StripeProvider, micros: int, key: str = "top-up-1") -> TopUp:
    with db.unit_of_work() as uow:
        return _payments(provider).top_up(uow, USER, Money(micros, "USD"), idempotency_key=key)


def test_hosted_pages_reuse_one_customer_per_user(
    database: Database, stripe_provider: StripeProvider, fake_stripe: FakeStripe
) -> None:
    with database.unit_of_work() as uow:
        payments = _payments(stripe_provider)
        top_up = payments.checkout_url(
            uow,
            USER,
            success_url="https://a/ok",
            cancel_url="https://a/no",
            top_up=Money(10_500_000, "USD"),
        )
        save_card = payments.checkout_url(
            uow, USER, success_url="https://a/ok", cancel_url="https://a/no", top_up=None
        )
        portal = payments.portal_url(uow, USER, return_url="https://a/back")
    assert top_up.url.startswith("https://checkout.stripe.test/")
    assert save_card.url.startswith("https://checkout.stripe.test/")
    assert portal.url.startswith("https://billing.stripe.test/")
    (customer,) = fake_stripe.calls("/v1/customers")
    assert customer.params == {"email": "alice@example.com", "metadata": {"user_id": USER}}
    assert customer.idempotency_key == f"customer:{USER}"
    payment, setup = fake_stripe.calls("/v1/checkout/sessions")
    assert payment.params["mode"] == "payment"
    assert payment.params["line_items"]["0"]["price_data"]["unit_amount"] == "1050"
    assert setup.params["mode"] == "setup"
    assert fake_stripe.calls("/v1/billing_portal/sessions")[0].params["return_url"] == "https://a/back"


def test_a_top_up_charges_off_session_under_a_key_derived_from_user_and_idempotency_key(
    database: Database, stripe_provider: StripeProvider, fake_stripe: FakeStripe
) -> None:
    record = _top_up(database, stripe_provider, 5_000_000)
    (call,) = fake_stripe.calls("/v1/payment_intents")
    assert call.idempotency_key == f"topup:{USER}:top-up-1"
    assert record.id.startswith("txn_")
    assert (call.params["amount"], call.params["off_session"], call.params["confirm"]) == (
        "500",
        "true",
        "true",
    )
    assert record.status == "succeeded"
    assert _wallet(database) == 5_000_000


def test_a_declined_card_is_402_payment_failed_and_credits_nothing(
    database: Database, stripe_provider: StripeProvider, fake_stripe: FakeStripe
) -> None:
    with database.unit_of_work() as uow:
        customer = _payments(stripe_provider).customer_ref(uow, USER)
    fake_stripe.declining.add(customer)
    with pytest.raises(PaymentFailed) as exc:
        _top_up(database, stripe_provider, 1_000_000)
    assert (exc.value.code, exc.value.status_code) == ("PAYMENT_FAILED", 402)
    assert exc.value.details["decline_code"] == "card_declined"
    assert _wallet(database) == 0


@pytest.mark.parametrize("micros", [1, 0, -1_000_000])
def test_top_ups_must_be_positive_whole_cents(
    database: Database, stripe_provider: StripeProvider, micros: int
) -> None:
    with pytest.raises(InvalidInput):
        _top_up(database, stripe_provider, micros)


def _intent(pi: str, cents: int) -> dict[str, object]:
    return {
        "id": pi,
        "object": "payment_intent",
        "amount": cents,
        "amount_received": cents,
        "currency": "usd",
        "status": "succeeded",
        "metadata": {"user_id": USER},
    }


def test_each_webhook_type_delivered_five_times_has_one_effect(
    database: Database, stripe_provider: StripeProvider
) -> None:
    checkout = {
        "id": "cs_1",
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "payment_intent": "pi_1",
        "amount_total": 2000,
        "currency": "usd",
        "client_reference_id": USER,
        "metadata": {"user_id": USER},
    }
    deliveries = [
        event("checkout.session.completed", checkout, event_id="evt_checkout"),
        event("payment_intent.succeeded", _intent("pi_1", 2000), event_id="evt_pi_ok"),
        event(
            "payment_intent.payment_failed",
            {
                **_intent("pi_2", 100),
                "status": "requires_payment_method",
                "last_payment_error": {"code": "card_declined"},
            },
            event_id="evt_pi_fail",
        ),
        event(
            "charge.refunded",
            {
                "id": "ch_1",
                "object": "charge",
                "payment_intent": "pi_1",
                "amount_refunded": 500,
                "currency": "usd",
            },
            event_id="evt_refund",
        ),
        event(
            "charge.dispute.created",
            {"id": "dp_1", "object": "dispute", "payment_intent": "pi_1", "amount": 300, "currency": "usd"},
            event_id="evt_dispute",
        ),
    ]
    expected_wallet = [20_000_000, 20_000_000, 20_000_000, 15_000_000, 12_000_000]
    for body, wallet in zip(deliveries, expected_wallet, strict=True):
        results = [_deliver(database, stripe_provider, body) for _ in range(5)]
        assert [r.duplicate for r in results] == [False, True, True, True, True]
        assert _wallet(database) == wallet
    with database.unit_of_work(write=False) as uow:
        ledger = LedgerService()
        assert ledger.balance(uow, PLATFORM, "refunds", "USD").micros == 8_000_000
        assert uow.session.scalar(select(func.count()).select_from(WebhookEvent)) == 5
        actions = list(uow.session.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))
    assert actions == ["payment.succeeded", "payment.failed", "payment.refunded", "payment.disputed"]


def test_a_dispute_never_takes_the_wallet_below_zero(
    database: Database, stripe_provider: StripeProvider
) -> None:
    _deliver(database, stripe_provider, event("payment_intent.succeeded", _intent("pi_9", 1000)))
    with database.unit_of_work() as uow:
        LedgerService().post(
            uow,
            "spend",
            kind="spend",
            currency="USD",
            legs=[LegOf(USER, "wallet", -9_000_000), LegOf("usr_m", "earnings", 9_000_000)],
        )
    dispute = {"id": "dp_9", "object": "dispute", "payment_intent": "pi_9", "amount": 1000, "currency": "usd"}
    _deliver(database, stripe_provider, event("charge.dispute.created", dispute))
    assert _wallet(database) == 0
    with database.unit_of_work(write=False) as uow:
        txn = LedgerService().find(uow, "stripe:dispute:dp_9:10000000")
        assert txn is not None
        assert txn.memo["shortfall_micros"] == 9_000_000


def test_a_bad_signature_is_refused_and_changes_nothing(
    database: Database, stripe_provider: StripeProvider
) -> None:
    body = event("payment_intent.succeeded", _intent("pi_3", 1000))
    for signature in (
        "t=1,v1=deadbeef",
        sign_payload(body, "whsec_other"),
        sign_payload(body, SECRET, timestamp=1),
    ):
        with pytest.raises(WebhookSignatureInvalid) as exc:
            _deliver(database, stripe_provider, body, signature)
        assert (exc.value.code, exc.value.status_code) == ("WEBHOOK_SIGNATURE_INVALID", 400)
    with pytest.raises(WebhookSignatureInvalid), database.unit_of_work() as uow:
        _payments(stripe_provider).handle_webhook(uow, body, None)
    assert _wallet(database) == 0
    with database.unit_of_work(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0


def test_events_the_platform_did_not_start_or_does_not_handle_are_acknowledged(
    database: Database, stripe_provider: StripeProvider
) -> None:
    foreign = {**_intent("pi_4", 100), "metadata": {}}
    assert _deliver(database, stripe_provider, event("payment_intent.succeeded", foreign)).handled is True
    other = _deliver(
        database, stripe_provider, event("customer.created", {"id": "cus_1", "object": "customer"})
    )
    assert other.handled is False
    setup = {
        "id": "cs_2",
        "object": "checkout.session",
        "mode": "setup",
        "payment_status": "no_payment_required",
    }
    _deliver(database, stripe_provider, event("checkout.session.completed", setup))
    unknown = {
        "id": "ch_2",
        "object": "charge",
        "payment_intent": "pi_unknown",
        "amount_refunded": 5,
        "currency": "usd",
    }
    _deliver(database, stripe_provider, event("charge.refunded", unknown))
    dispute = {
        "id": "dp_2",
        "object": "dispute",
        "payment_intent": "pi_unknown",
        "amount": 5,
        "currency": "usd",
    }
    _deliver(database, stripe_provider, event("charge.dispute.created", dispute))
    failed = {**_intent("pi_unknown", 5), "metadata": {}}
    _deliver(database, stripe_provider, event("payment_intent.payment_failed", failed))
    assert _wallet(database) == 0


def test_the_wallet_only_default_has_no_card_payments() -> None:
    wallet = WalletOnly()
    calls: list[Callable[[], object]] = [
        lambda: wallet.create_customer(user_id="u", email=None),
        lambda: wallet.checkout_url(
            customer_ref="c", user_id="u", success_url="s", cancel_url="c", top_up=None
        ),
        lambda: wallet.portal_url(customer_ref="c", return_url="r"),
        lambda: wallet.charge(customer_ref="c", user_id="u", amount=Money(1, "USD"), idempotency_key="k"),
        lambda: wallet.refund(payment_ref="p", amount=Money(1, "USD"), idempotency_key="k"),
        lambda: wallet.parse_webhook(b"{}", None),
    ]
    for call in calls:
        with pytest.raises(PaymentsUnavailable) as exc:
            call()
        assert (exc.value.code, exc.value.status_code) == ("PAYMENTS_UNAVAILABLE", 503)


def test_billing_settings_choose_the_provider() -> None:
    assert isinstance(provider_from_settings(BillingSettings.from_env({})), WalletOnly)
    configured = BillingSettings.from_env(
        {
            "SPELL_BILLING_STRIPE_API_KEY": "sk_test_1",
            "SPELL_BILLING_STRIPE_WEBHOOK_SECRET": "whsec_1",
            "SPELL_BILLING_STRIPE_API_BASE": "http://127.0.0.1:9",
            "SPELL_BILLING_MAKER_SHARE_BPS": "7000",
        }
    )
    assert configured.stripe_enabled
    assert configured.maker_share_bps == 7_000
    assert isinstance(provider_from_settings(configured), StripeProvider)
    with pytest.raises(InvalidInput):
        BillingSettings.from_env({"SPELL_BILLING_STRIPE_API_KEY": "sk_test_1"})
    with pytest.raises(InvalidInput):
        BillingSettings.from_env({"SPELL_BILLING_MAKER_SHARE_BPS": "10001"})
