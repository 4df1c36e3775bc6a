"""Top-ups charge once per Idempotency-Key, whatever fails in between, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from spell.errors import SpellError
from spell.kit.money import Money
from spell.kit.time import utcnow
from spell.models import Tenant, User
from spell.models.payment import PaymentRecord
from spell.platform.audit.service import AuditService
from spell.platform.billing.payments import PaymentService
from spell.platform.billing.provider import ProviderPayment
from spell.platform.billing.schemas import TopUp
from spell.platform.billing.stripe_provider import StripeProvider
from spell.platform.ledger.service import LedgerService
from spell.storage.session import Database
from tests.fakes.stripe_server import FakeStripe

USER = "usr_topper"
INTENTS = "/v1/payment_intents"


@pytest.fixture
def stripe(fake_stripe: FakeStripe) -> StripeProvider:
    # No SDK retries: an outage is answered at once rather than after the SDK's back-off.
    return StripeProvider("sk_test_topup", "whsec_x", api_base=fake_stripe.url, max_network_retries=0)


@pytest.fixture(autouse=True)
def topper(database: Database) -> None:
    with database.unit_of_work() as uow:
        uow.session.add(Tenant(id="ten_topper", name="topper", created_at=utcnow()))
        uow.session.flush()
        uow.session.add(
            User(id=USER, email="t@example.com", tenant_id="ten_topper", roles=[], created_at=utcnow())
        )


def _top_up(db: Database, provider: object, micros: int, key: str | None) -> TopUp:
    service = PaymentService(LedgerService(), AuditService(), provider)  # type: ignore[arg-type]
    with db.unit_of_work() as uow:
        return service.top_up(uow, USER, Money(micros, "USD"), idempotency_key=key)


def _wallet(db: Database) -> int:
    with db.unit_of_work(write=False) as uow:
        LedgerService().verify(uow)
        return LedgerService().balance(uow, USER, "wallet", "USD").micros


def _records(db: Database) -> int:
    with db.unit_of_work(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(PaymentRecord)) or 0)


def test_the_same_key_and_body_replays_the_top_up_without_calling_stripe_again(
    database: Database, stripe: StripeProvider, fake_stripe: FakeStripe
) -> None:
    first = _top_up(database, stripe, 5_000_000, "k-1")
    again = _top_up(database, stripe, 5_000_000, "k-1")
    assert (first.replay, again.replay) == (False, True)
    assert again.model_dump(exclude={"replay"}) == first.model_dump(exclude={"replay"})
    assert len(fake_stripe.calls(INTENTS)) == 1
    assert _wallet(database) == 5_000_000


def test_the_same_key_with_another_amount_is_409_idempotency_conflict(
    database: Database, stripe: StripeProvider, fake_stripe: FakeStripe
) -> None:
    _top_up(database, stripe, 5_000_000, "k-1")
    with pytest.raises(SpellError) as exc:
        _top_up(database, stripe, 6_000_000, "k-1")
    assert (exc.value.code, exc.value.status_code) == ("IDEMPOTENCY_CONFLICT", 409)
    assert len(fake_stripe.calls(INTENTS)) == 1
    assert _wallet(database) == 5_000_000


@pytest.mark.parametrize("key", [None, "", "é", "x" * 129])
def test_a_top_up_without_a_usable_key_is_refused_before_any_charge(
    database: Database, stripe: StripeProvider, fake_stripe: FakeStripe, key: str | None
) -> None:
    with pytest.raises(SpellError) as exc:
        _top_up(database, stripe, 5_000_000, key)
    assert (exc.value.code, exc.value.status_code) == ("IDEMPOTENCY_KEY_REQUIRED", 422)
    assert exc.value.hint or key
    assert fake_stripe.requests == []


@dataclass
class CrashAfterCharge:
    """Stripe charges, then the process dies before the database commits."""

    inner: StripeProvider
    name: str = "stripe"

    def __getattr__(self, attr: str) -> object:
        return getattr(self.inner, attr)

    def charge(self, **kwargs: object) -> ProviderPayment:
        self.inner.charge(**kwargs)  # type: ignore[arg-type]
        raise RuntimeError("killed between Stripe's answer and the commit")


def test_a_crash_between_stripe_and_the_commit_never_charges_twice(
    database: Database, stripe: StripeProvider, fake_stripe: FakeStripe
) -> None:
    with pytest.raises(RuntimeError):
        _top_up(database, CrashAfterCharge(stripe), 5_000_000, "k-crash")
    assert (_records(database), _wallet(database)) == (0, 0)  # our side rolled back
    retried = _top_up(database, stripe, 5_000_000, "k-crash")
    assert retried.status == "succeeded"
    calls = fake_stripe.calls(INTENTS)
    assert [c.idempotency_key for c in calls] == [f"topup:{USER}:k-crash"] * 2
    assert len(fake_stripe.made(INTENTS)) == 1  # Stripe answered the retry with the first payment
    assert retried.payment_ref == fake_stripe.made(INTENTS)[0]["id"]
    assert _wallet(database) == 5_000_000


def test_after_a_crash_the_key_with_another_amount_is_refused_by_stripe_as_a_conflict(
    database: Database, stripe: StripeProvider, fake_stripe: FakeStripe
) -> None:
    with pytest.raises(RuntimeError):
        _top_up(database, CrashAfterCharge(stripe), 5_000_000, "k-crash")
    with pytest.raises(SpellError) as exc:
        _top_up(database, stripe, 7_000_000, "k-crash")
    assert exc.value.code == "IDEMPOTENCY_CONFLICT"
    assert (len(fake_stripe.made(INTENTS)), _wallet(database), _records(database)) == (1, 0, 0)


def test_stripe_unreachable_is_503_and_records_nothing(
    database: Database, stripe: StripeProvider, fake_stripe: FakeStripe
) -> None:
    fake_stripe.down.add(INTENTS)
    with pytest.raises(SpellError) as exc:
        _top_up(database, stripe, 5_000_000, "k-down")
    assert (exc.value.code, exc.value.status_code) == ("PAYMENTS_UNAVAILABLE", 503)
    assert (_records(database), _wallet(database)) == (0, 0)
    fake_stripe.down.clear()
    assert _top_up(database, stripe, 5_000_000, "k-down").status == "succeeded"
    assert _wallet(database) == 5_000_000


def test_a_declined_top_up_retried_with_its_key_is_declined_again_and_never_charged(
    database: Database, stripe: StripeProvider, fake_stripe: FakeStripe
) -> None:
    with database.unit_of_work() as uow:
        customer = PaymentService(LedgerService(), AuditService(), stripe).customer_ref(uow, USER)
    fake_stripe.declining.add(customer)
    for _ in range(2):
        with pytest.raises(SpellError) as exc:
            _top_up(database, stripe, 5_000_000, "k-declined")
        assert exc.value.code == "PAYMENT_FAILED"
    assert (fake_stripe.made(INTENTS), _records(database), _wallet(database)) == ([], 0, 0)


def test_two_concurrent_submissions_of_one_key_charge_once(
    database: Database, stripe: StripeProvider, fake_stripe: FakeStripe
) -> None:
    with database.unit_of_work() as uow:  # the customer exists: both requests race on the charge only
        PaymentService(LedgerService(), AuditService(), stripe).customer_ref(uow, USER)
    start = threading.Barrier(4)
    results: list[TopUp] = []

    def submit() -> None:
        start.wait(timeout=10)
        results.append(_top_up(database, stripe, 3_000_000, "k-double"))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 4
    assert len({r.id for r in results}) == 1
    assert sorted(r.replay for r in results) == [False, True, True, True]
    assert len(fake_stripe.made(INTENTS)) == 1
    assert (_records(database), _wallet(database)) == (1, 3_000_000)
