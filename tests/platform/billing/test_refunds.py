"""Operator refunds of cast charges and card top-ups, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from spell.errors import SpellError
from spell.kit.money import Money
from spell.kit.time import utcnow
from spell.models import Tenant, User
from spell.models.budget import Hold
from spell.models.payment import PaymentRecord
from spell.platform.audit.service import AuditService
from spell.platform.billing.entitlements import EntitlementService
from spell.platform.billing.payments import PaymentService
from spell.platform.billing.refunds import RefundService
from spell.platform.billing.schemas import RefundCreate, RefundOut
from spell.platform.billing.stripe_provider import StripeProvider
from spell.platform.ledger.service import PLATFORM, LedgerService, Leg
from spell.storage.session import Database
from tests.fakes.stripe_server import FakeStripe, event, sign_payload
from tests.platform.budget.helpers import budgets, fund, reserve

SECRET = "whsec_refunds"
Events = list[tuple[str | None, str, dict[str, Any]]]


@pytest.fixture
def stripe(fake_stripe: FakeStripe) -> StripeProvider:
    return StripeProvider("sk_test_refunds", SECRET, api_base=fake_stripe.url, max_network_retries=0)


@pytest.fixture
def events() -> Events:
    return []


@pytest.fixture
def refunds(stripe: StripeProvider, events: Events) -> RefundService:
    ledger, audit = LedgerService(), AuditService()
    return RefundService(
        ledger,
        audit,
        budgets(),
        PaymentService(ledger, audit, stripe),
        EntitlementService(),
        notify=lambda uow, tenant, kind, payload: events.append((tenant, kind, payload)),
    )


@pytest.fixture(autouse=True)
def caster(database: Database) -> None:
    with database.unit_of_work() as uow:
        uow.session.add(Tenant(id="ten_c", name="c", created_at=utcnow()))
        uow.session.flush()
        uow.session.add(
            User(id="usr_c", email="c@example.com", tenant_id="ten_c", roles=[], created_at=utcnow())
        )


def _charged(
    db: Database, cast_id: str = "cast_1", micros: int = 1_000_000, fund_micros: int = 5_000_000
) -> None:
    """A cast by usr_c of usr_m's spell, charged ``micros`` (80 % to the maker)."""
    if fund_micros:
        fund(db, "usr_c", fund_micros)
    reserve(db, cast_id, micros)
    with db.unit_of_work() as uow:
        budgets().capture(uow, cast_id, Money(micros, "USD"))


def _refund(db: Database, service: RefundService, key: str | None = "r-1", **body: Any) -> RefundOut:
    with db.unit_of_work() as uow:
        return service.create(uow, RefundCreate(**body), idempotency_key=key, operator_id="usr_ops")


def _balances(db: Database) -> dict[str, int]:
    with db.unit_of_work(write=False) as uow:
        ledger = LedgerService()
        ledger.verify(uow)
        return {
            "wallet": ledger.balance(uow, "usr_c", "wallet", "USD").micros,
            "earnings": ledger.balance(uow, "usr_m", "earnings", "USD").micros,
            "revenue": ledger.balance(uow, PLATFORM, "revenue", "USD").micros,
            "refunds": ledger.balance(uow, PLATFORM, "refunds", "USD").micros,
        }


def _code(db: Database, service: RefundService, key: str = "r-x", **body: Any) -> str:
    with pytest.raises(SpellError) as exc:
        _refund(db, service, key, **body)
    return exc.value.code


def test_a_full_cast_refund_reverses_the_capture_once_and_replays(
    database: Database, refunds: RefundService, events: Events
) -> None:
    _charged(database)
    assert _balances(database) == {"wallet": 4_000_000, "earnings": 800_000, "revenue": 200_000, "refunds": 0}
    made = _refund(database, refunds, cast_id="cast_1", reason="bad output")
    assert (made.amount_micros, made.maker_micros, made.target_kind, made.replay) == (
        1_000_000,
        800_000,
        "cast",
        False,
    )
    assert _balances(database) == {"wallet": 5_000_000, "earnings": 0, "revenue": 0, "refunds": 0}
    again = _refund(database, refunds, cast_id="cast_1", reason="bad output")
    assert (again.id, again.replay) == (made.id, True)
    assert _code(database, refunds, cast_id="cast_1") == "ALREADY_REFUNDED"
    with database.unit_of_work(write=False) as uow:
        hold = uow.session.get(Hold, "cast_1")
        assert hold is not None
        assert hold.status == "refunded"
    assert [(tenant, kind) for tenant, kind, _ in events] == [("ten_c", "cast.refunded")]
    assert events[0][2]["id"] == made.id


def test_partial_refunds_in_pieces_give_back_exactly_what_the_capture_moved(
    database: Database, refunds: RefundService
) -> None:
    _charged(database, micros=3)  # maker 2, platform 1
    for index in range(3):
        _refund(database, refunds, f"piece-{index}", cast_id="cast_1", amount_micros=1)
    assert _balances(database) == {"wallet": 5_000_000, "earnings": 0, "revenue": 0, "refunds": 0}
    page = refunds_list(database, refunds)
    assert sorted(r.maker_micros for r in page) == [0, 1, 1]


def refunds_list(db: Database, service: RefundService) -> list[RefundOut]:
    with db.unit_of_work(write=False) as uow:
        return service.list(uow, cast_id="cast_1").items


def test_a_refund_above_what_is_left_is_refused_and_moves_nothing(
    database: Database, refunds: RefundService
) -> None:
    _charged(database)
    _refund(database, refunds, "part", cast_id="cast_1", amount_micros=600_000)
    before = _balances(database)
    assert _code(database, refunds, cast_id="cast_1", amount_micros=400_001) == "REFUND_EXCEEDS_CHARGE"
    assert _balances(database) == before
    assert _refund(database, refunds, "rest", cast_id="cast_1").amount_micros == 400_000


def test_the_same_key_with_another_request_is_409_and_a_missing_key_is_refused(
    database: Database, refunds: RefundService
) -> None:
    _charged(database)
    _refund(database, refunds, "r-1", cast_id="cast_1", amount_micros=100)
    assert _code(database, refunds, "r-1", cast_id="cast_1", amount_micros=200) == "IDEMPOTENCY_CONFLICT"
    with pytest.raises(SpellError) as exc:
        _refund(database, refunds, None, cast_id="cast_1")
    assert exc.value.code == "IDEMPOTENCY_KEY_REQUIRED"


def test_an_uncharged_or_unknown_cast_has_no_charge_to_refund(
    database: Database, refunds: RefundService
) -> None:
    fund(database, "usr_c", 1_000)
    reserve(database, "cast_held", 500)  # still held: nothing was charged yet
    assert _code(database, refunds, cast_id="cast_held") == "CHARGE_NOT_FOUND"
    assert _code(database, refunds, cast_id="cast_nope") == "CHARGE_NOT_FOUND"
    assert _code(database, refunds, payment_id="txn_nope") == "CHARGE_NOT_FOUND"


def _pay_out_maker(db: Database) -> None:
    with db.unit_of_work() as uow:
        ledger = LedgerService()
        owed = ledger.balance(uow, "usr_m", "earnings", "USD").micros
        ledger.post(
            uow,
            "test-payout",
            kind="payout",
            currency="USD",
            legs=[Leg("usr_m", "earnings", -owed), Leg("usr_m", "payouts", owed)],
        )


def test_the_platform_bears_the_share_of_a_maker_already_paid_out(
    database: Database, refunds: RefundService
) -> None:
    _charged(database, "cast_1", micros=1_000_000)
    _charged(database, "cast_2", micros=1_000_000, fund_micros=0)
    _pay_out_maker(database)
    made = _refund(database, refunds, cast_id="cast_1", amount_micros=100_000)
    assert made.maker_micros == 0
    assert _balances(database)["revenue"] == 300_000  # 2 x 200 000 in, 100 000 out


def test_a_refund_the_platform_cannot_cover_is_refused(database: Database, refunds: RefundService) -> None:
    _charged(database)
    _pay_out_maker(database)  # earnings 0; revenue 200 000 cannot bear the maker's 800 000
    assert _code(database, refunds, cast_id="cast_1") == "REFUND_NOT_COVERED"
    assert _balances(database)["wallet"] == 4_000_000


def test_a_full_refund_of_a_purchase_revokes_the_entitlement(
    database: Database, refunds: RefundService
) -> None:
    _charged(database)
    entitlements = EntitlementService()
    with database.unit_of_work() as uow:
        assert entitlements.claim(uow, "usr_c", "acme/x", "cast_1", Money(1_000_000, "USD"), at=utcnow())
    _refund(database, refunds, "half", cast_id="cast_1", amount_micros=500_000)
    with database.unit_of_work(write=False) as uow:
        assert entitlements.holds(uow, "usr_c", "acme/x")  # a partial refund keeps the purchase
    _refund(database, refunds, "rest", cast_id="cast_1")
    with database.unit_of_work(write=False) as uow:
        assert not entitlements.holds(uow, "usr_c", "acme/x")
    with database.unit_of_work() as uow:  # bought again by a later cast
        assert entitlements.claim(uow, "usr_c", "acme/x", "cast_9", Money(1_000_000, "USD"), at=utcnow())
        assert not entitlements.claim(uow, "usr_c", "acme/x", "cast_10", Money(1_000_000, "USD"), at=utcnow())


# -- card top-ups -----------------------------------------------------------------------------
def _topped_up(db: Database, stripe: StripeProvider, micros: int = 5_000_000) -> str:
    with db.unit_of_work() as uow:
        made = PaymentService(LedgerService(), AuditService(), stripe).top_up(
            uow, "usr_c", Money(micros, "USD"), idempotency_key="card-1"
        )
    return made.id


def test_a_card_refund_goes_to_stripe_and_out_of_the_wallet_once(
    database: Database, refunds: RefundService, stripe: StripeProvider, fake_stripe: FakeStripe
) -> None:
    payment_id = _topped_up(database, stripe)
    made = _refund(database, refunds, payment_id=payment_id, amount_micros=2_000_000)
    (call,) = fake_stripe.calls("/v1/refunds")
    assert call.idempotency_key == f"refund:{payment_id}:2000000"
    assert call.params["amount"] == "200"
    assert made.provider_ref == fake_stripe.made("/v1/refunds")[0]["id"]
    assert _balances(database)["wallet"] == 3_000_000
    with database.unit_of_work(write=False) as uow:
        record = uow.session.get(PaymentRecord, payment_id)
        assert record is not None
        assert record.provider_ref is not None
        intent = record.provider_ref
    # Stripe then reports the same refund by webhook: nothing more leaves the wallet.
    body = event(
        "charge.refunded",
        {
            "id": "ch_1",
            "object": "charge",
            "payment_intent": intent,
            "amount_refunded": 200,
            "currency": "usd",
        },
    )
    with database.unit_of_work() as uow:
        PaymentService(LedgerService(), AuditService(), stripe).handle_webhook(
            uow, body, sign_payload(body, SECRET)
        )
    assert _balances(database) == {"wallet": 3_000_000, "earnings": 0, "revenue": 0, "refunds": 2_000_000}
    assert _code(database, refunds, payment_id=payment_id, amount_micros=3_000_001) == "REFUND_EXCEEDS_CHARGE"
    _refund(database, refunds, "r-rest", payment_id=payment_id)
    assert _code(database, refunds, "r-again", payment_id=payment_id) == "ALREADY_REFUNDED"
    assert _balances(database)["wallet"] == 0
    assert len(fake_stripe.made("/v1/refunds")) == 2


def test_a_card_refund_of_credit_already_spent_is_refused(
    database: Database, refunds: RefundService, stripe: StripeProvider, fake_stripe: FakeStripe
) -> None:
    payment_id = _topped_up(database, stripe)
    reserve(database, "cast_1", 4_000_000)  # the caster spent (holds) most of the credit
    assert _code(database, refunds, payment_id=payment_id) == "REFUND_NOT_COVERED"
    assert fake_stripe.calls("/v1/refunds") == []
    assert (
        _refund(database, refunds, payment_id=payment_id, amount_micros=1_000_000).amount_micros == 1_000_000
    )


def test_stripe_down_or_refusing_a_card_refund_changes_nothing(
    database: Database, refunds: RefundService, stripe: StripeProvider, fake_stripe: FakeStripe
) -> None:
    payment_id = _topped_up(database, stripe)
    fake_stripe.down.add("/v1/refunds")
    assert _code(database, refunds, payment_id=payment_id) == "PAYMENTS_UNAVAILABLE"
    fake_stripe.down.clear()
    with database.unit_of_work(write=False) as uow:
        record = uow.session.get(PaymentRecord, payment_id)
        assert record is not None
        assert record.provider_ref is not None
    fake_stripe.refunded[record.provider_ref] = 500  # refunded in Stripe's dashboard meanwhile
    assert _code(database, refunds, "r-y", payment_id=payment_id) == "PAYMENT_FAILED"
    assert _balances(database)["wallet"] == 5_000_000
    with database.unit_of_work(write=False) as uow:
        assert refunds.list(uow, payment_id=payment_id).items == []


def test_racing_refunds_of_one_cast_never_give_back_more_than_was_charged(
    database: Database, refunds: RefundService
) -> None:
    _charged(database)
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def refund(index: int) -> None:
        start.wait(timeout=10)
        try:
            _refund(database, refunds, f"race-{index}", cast_id="cast_1", amount_micros=400_000)
            outcomes.append("refunded")
        except SpellError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=refund, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["REFUND_EXCEEDS_CHARGE"] * 4 + ["refunded"] * 2
    assert _balances(database) == {"wallet": 4_800_000, "earnings": 160_000, "revenue": 40_000, "refunds": 0}


def test_a_card_refund_must_be_whole_cents(
    database: Database, refunds: RefundService, stripe: StripeProvider, fake_stripe: FakeStripe
) -> None:
    payment_id = _topped_up(database, stripe)
    assert _code(database, refunds, payment_id=payment_id, amount_micros=1_000_001) == "VALIDATION_ERROR"
    assert fake_stripe.calls("/v1/refunds") == []


def test_the_budget_refuses_a_refund_outside_what_is_left(database: Database) -> None:
    _charged(database)
    for amount, before in ((Money(0, "USD"), 0), (Money(1, "USD"), 1_000_000)):
        with pytest.raises(SpellError) as exc, database.unit_of_work() as uow:
            budgets().refund(uow, "cast_1", reason="x", amount=amount, refunded_before=before)
        assert exc.value.code == "VALIDATION_ERROR"
