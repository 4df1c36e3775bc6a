"""Maker payouts from earnings, by Stripe Connect transfer or by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from spell.errors import SpellError
from spell.kit.money import Money
from spell.kit.time import utcnow
from spell.models import Publisher, Tenant
from spell.platform.audit.service import AuditService
from spell.platform.auth.schemas import Principal
from spell.platform.billing.payments import PaymentService
from spell.platform.billing.payouts import PayoutService, run_payouts
from spell.platform.billing.provider import ProviderPayment
from spell.platform.billing.schemas import PayoutAccount, PayoutRun
from spell.platform.billing.stripe_provider import StripeProvider
from spell.platform.ledger.service import PLATFORM, LedgerService, Leg
from spell.storage.session import Database
from tests.fakes.stripe_server import FakeStripe

TRANSFERS = "/v1/transfers"


@pytest.fixture
def stripe(fake_stripe: FakeStripe) -> StripeProvider:
    return StripeProvider("sk_test_payouts", "whsec_x", api_base=fake_stripe.url, max_network_retries=0)


def _service(provider: object | None = None) -> PayoutService:
    ledger, audit = LedgerService(), AuditService()
    return PayoutService(ledger, audit, PaymentService(ledger, audit, provider))  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def makers(database: Database) -> None:
    """Two makers: acme (tenant ten_acme) and beta (ten_beta), each with a publisher."""
    with database.unit_of_work() as uow:
        for name in ("acme", "beta"):
            uow.session.add(Tenant(id=f"ten_{name}", name=name, created_at=utcnow()))
            uow.session.flush()
            uow.session.add(Publisher(name=name, tenant_id=f"ten_{name}", created_at=utcnow()))


def _earn(db: Database, maker: str, micros: int, key: str = "earn") -> None:
    """Earnings for ``maker`` (as a capture leaves them), paid from platform clearing for brevity."""
    with db.unit_of_work() as uow:
        LedgerService().post(
            uow,
            f"{key}:{maker}",
            kind="capture",
            currency="USD",
            legs=[Leg(maker, "earnings", micros), Leg(PLATFORM, "clearing", -micros)],
        )


def _owed_paid(db: Database, maker: str) -> tuple[int, int]:
    with db.unit_of_work(write=False) as uow:
        ledger = LedgerService()
        ledger.verify(uow)
        return (
            ledger.balance(uow, maker, "earnings", "USD").micros,
            ledger.balance(uow, maker, "payouts", "USD").micros,
        )


def _run(
    db: Database, service: PayoutService, publisher: str | None = None, *, dry_run: bool = False
) -> PayoutRun:
    return run_payouts(db, service, publisher=publisher, dry_run=dry_run, operator_id="usr_ops")


def _connect(db: Database, service: PayoutService, publisher: str, account: str | None) -> None:
    with db.unit_of_work() as uow:
        service.set_account(
            uow, PayoutAccount(publisher=publisher, stripe_account_id=account), operator_id=None
        )


def test_without_a_connected_account_a_payout_is_recorded_as_manual_and_owed_nothing_after(
    database: Database,
) -> None:
    _earn(database, "ten_acme", 12_345_678)  # 12.345678 USD: 12.34 is payable, the rest stays owed
    service = _service()
    dry = _run(database, service, dry_run=True)
    assert [(o.maker_id, o.publisher, o.amount_micros, o.destination) for o in dry.owed] == [
        ("ten_acme", "acme", 12_340_000, None)
    ]
    assert dry.payouts == []
    assert _owed_paid(database, "ten_acme") == (12_345_678, 0)
    run = _run(database, service, "acme")
    (payout,) = run.payouts
    assert (payout.method, payout.status, payout.amount_micros) == ("manual", "recorded", 12_340_000)
    assert _owed_paid(database, "ten_acme") == (5_678, 12_340_000)
    with pytest.raises(SpellError) as exc:
        _run(database, service, "acme")
    assert (exc.value.code, exc.value.status_code) == ("NOTHING_OWED", 409)
    assert _run(database, service).payouts == []  # a run over everyone owed nothing does nothing


def test_a_payout_for_a_connected_account_is_a_stripe_transfer(
    database: Database, stripe: StripeProvider, fake_stripe: FakeStripe
) -> None:
    _earn(database, "ten_acme", 8_000_000)
    service = _service(stripe)
    _connect(database, service, "acme", "acct_acme1")
    fake_stripe.accounts.add("acct_acme1")
    (payout,) = _run(database, service, "acme").payouts
    (call,) = fake_stripe.calls(TRANSFERS)
    assert call.params["destination"] == "acct_acme1"
    assert (call.params["amount"], call.params["currency"]) == ("800", "usd")
    assert call.idempotency_key == "payout:ten_acme:USD:0"
    assert (payout.method, payout.status, payout.provider_ref) == (
        "stripe_transfer",
        "paid",
        fake_stripe.made(TRANSFERS)[0]["id"],
    )
    assert _owed_paid(database, "ten_acme") == (0, 8_000_000)
    _earn(database, "ten_acme", 1_000_000, key="more")
    _run(database, service, "acme")
    assert fake_stripe.calls(TRANSFERS)[1].idempotency_key == "payout:ten_acme:USD:8000000"
    with database.unit_of_work(write=False) as uow:
        principal = Principal("usr_a", "ten_acme", ("maker",), ("spell:publish",))
        listed = service.of_publisher(uow, principal, "acme").items
    assert [p.amount_micros for p in listed] == [1_000_000, 8_000_000]


class CrashAfterTransfer:
    """Stripe transfers, then the process dies before the database commits."""

    name = "stripe"

    def __init__(self, inner: StripeProvider) -> None:
        self.inner = inner

    def transfer(self, **kwargs: object) -> ProviderPayment:
        self.inner.transfer(**kwargs)  # type: ignore[arg-type]
        raise RuntimeError("killed between Stripe's answer and the commit")


def test_a_crash_between_the_transfer_and_the_commit_never_pays_twice(
    database: Database, stripe: StripeProvider, fake_stripe: FakeStripe
) -> None:
    _earn(database, "ten_acme", 2_000_000)
    fake_stripe.accounts.add("acct_acme1")
    _connect(database, _service(stripe), "acme", "acct_acme1")
    with pytest.raises(RuntimeError):
        _run(database, _service(CrashAfterTransfer(stripe)), "acme")
    assert _owed_paid(database, "ten_acme") == (2_000_000, 0)
    _run(database, _service(stripe), "acme")
    assert len(fake_stripe.calls(TRANSFERS)) == 2
    assert len(fake_stripe.made(TRANSFERS)) == 1
    assert _owed_paid(database, "ten_acme") == (0, 2_000_000)


def test_a_refused_or_unreachable_transfer_moves_nothing_and_a_full_run_pays_the_others(
    database: Database, stripe: StripeProvider, fake_stripe: FakeStripe
) -> None:
    _earn(database, "ten_acme", 2_000_000)
    _earn(database, "ten_beta", 3_000_000)
    service = _service(stripe)
    _connect(database, service, "acme", "acct_gone")  # Stripe knows no such account
    with pytest.raises(SpellError) as exc:
        _run(database, service, "acme")
    assert (exc.value.code, exc.value.status_code) == ("PAYOUT_REFUSED", 409)
    assert _owed_paid(database, "ten_acme") == (2_000_000, 0)
    fake_stripe.accounts.add("acct_gone")
    fake_stripe.down.add(TRANSFERS)
    with pytest.raises(SpellError) as down:
        _run(database, service, "acme")
    assert down.value.code == "PAYMENTS_UNAVAILABLE"
    run = _run(database, service)
    assert run.failed == [{"maker_id": "ten_acme", "currency": "USD", "code": "PAYMENTS_UNAVAILABLE"}]
    assert [(p.maker_id, p.method) for p in run.payouts] == [("ten_beta", "manual")]
    assert (_owed_paid(database, "ten_acme"), _owed_paid(database, "ten_beta")) == (
        (2_000_000, 0),
        (0, 3_000_000),
    )


def test_payouts_of_a_publisher_are_for_its_own_tenant_only(database: Database) -> None:
    service = _service()
    stranger = Principal("usr_b", "ten_beta", ("maker",), ("spell:publish",))
    with pytest.raises(SpellError) as exc, database.unit_of_work(write=False) as uow:
        service.of_publisher(uow, stranger, "acme")
    assert exc.value.code == "TENANT_FORBIDDEN"
    with pytest.raises(SpellError) as missing:
        _run(database, service, "nobody")
    assert missing.value.code == "PUBLISHER_NOT_FOUND"


def test_nothing_owed_in_a_sub_cent_balance(database: Database) -> None:
    _earn(database, "ten_acme", 9_999)
    with pytest.raises(SpellError) as exc:
        _run(database, _service(), "acme")
    assert exc.value.code == "NOTHING_OWED"
    assert Money(9_999, "USD").micros == _owed_paid(database, "ten_acme")[0]
