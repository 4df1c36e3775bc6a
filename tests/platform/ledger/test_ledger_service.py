"""Balanced, idempotent ledger transactions with running balances, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from spell.errors import InvalidInput
from spell.kit.clock import FakeClock
from spell.kit.money import Money
from spell.models.budget import Hold
from spell.models.ledger import LedgerAccount
from spell.platform.ledger.errors import InsufficientCredits, LedgerDrift, LedgerUnbalanced
from spell.platform.ledger.service import PLATFORM, LedgerService, Leg
from spell.storage.session import Database


@pytest.fixture
def database(rolled_back_database: Database) -> Database:
    """Each test in one transaction rolled back at its end (several times faster than a database of its
    own): the service runs on one thread here; races between committing transactions are
    tests/platform/budget/test_concurrent_casts.py's."""
    return rolled_back_database


def test_credit_moves_money_from_clearing_into_the_wallet(database: Database) -> None:
    with database.unit_of_work() as uow:
        LedgerService().credit(uow, "usr_a", Money(5_000, "USD"), idempotency_key="grant:1", memo={})
    with database.unit_of_work(write=False) as uow:
        ledger = LedgerService()
        assert ledger.balance(uow, "usr_a", "wallet", "USD").micros == 5_000
        assert ledger.balance(uow, PLATFORM, "clearing", "USD").micros == -5_000
        assert ledger.verify(uow).accounts == 2


def test_the_same_idempotency_key_writes_once(database: Database) -> None:
    for _ in range(3):
        with database.unit_of_work() as uow:
            txn = LedgerService().credit(uow, "usr_a", Money(7, "USD"), idempotency_key="grant:x", memo={})
            first = txn.id
    with database.unit_of_work(write=False) as uow:
        ledger = LedgerService()
        assert ledger.balance(uow, "usr_a", "wallet", "USD").micros == 7
        found = ledger.find(uow, "grant:x")
        assert found is not None
        assert found.id == first


def test_unbalanced_or_unknown_legs_are_refused(database: Database) -> None:
    with pytest.raises(LedgerUnbalanced) as exc, database.unit_of_work() as uow:
        LedgerService().post(uow, "k1", kind="x", currency="USD", legs=[Leg("u", "wallet", 1)])
    assert exc.value.code == "LEDGER_UNBALANCED"
    with pytest.raises(LedgerUnbalanced), database.unit_of_work() as uow:
        LedgerService().post(
            uow, "k2", kind="x", currency="USD", legs=[Leg("u", "purse", 1), Leg("u", "wallet", -1)]
        )


def test_a_wallet_never_goes_negative(database: Database) -> None:
    with pytest.raises(InsufficientCredits) as exc, database.unit_of_work() as uow:
        LedgerService().post(
            uow, "spend", kind="x", currency="USD", legs=[Leg("u", "wallet", -1), Leg("u", "holds", 1)]
        )
    assert exc.value.code == "INSUFFICIENT_CREDITS"
    assert exc.value.details["needed"]["amount_micros"] == 1


def test_other_guarded_accounts_never_go_negative(database: Database) -> None:
    with pytest.raises(LedgerUnbalanced) as exc, database.unit_of_work() as uow:
        LedgerService().post(
            uow, "k", kind="x", currency="USD", legs=[Leg("m", "earnings", -1), Leg("u", "wallet", 1)]
        )
    assert exc.value.details["amount_micros"] == -1


def test_credits_must_be_positive(database: Database) -> None:
    with pytest.raises(InvalidInput), database.unit_of_work() as uow:
        LedgerService().credit(uow, "u", Money(0, "USD"), idempotency_key="z", memo={})


def test_verify_names_an_account_whose_balance_drifted(database: Database) -> None:
    with database.unit_of_work() as uow:
        LedgerService().credit(uow, "usr_a", Money(10, "USD"), idempotency_key="g", memo={})
    with database.unit_of_work() as uow:
        uow.session.execute(
            update(LedgerAccount).where(LedgerAccount.kind == "wallet").values(balance_micros=11)
        )
    with pytest.raises(LedgerDrift) as exc, database.unit_of_work(write=False) as uow:
        LedgerService().verify(uow)
    assert exc.value.code == "LEDGER_DRIFT"
    (drift,) = exc.value.details["drift"]
    assert (drift["owner_id"], drift["balance_micros"], drift["postings_micros"]) == ("usr_a", 11, 10)


def _charged(db: Database, cast_id: str, settled_at: datetime, micros: int) -> None:
    with db.unit_of_work() as uow:
        uow.session.add(
            Hold(
                cast_id=cast_id,
                caster_id="usr_c",
                spell_id="acme/x",
                maker_id="ten_m",
                currency="USD",
                amount_micros=micros,
                captured_micros=micros,
                maker_share_bps=8_000,
                status="captured",
                day_start=settled_at,
                month_start=settled_at,
                created_at=settled_at,
                settled_at=settled_at,
            )
        )


def test_usage_covers_the_last_30_days_of_the_clock_by_default(database: Database) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 12, tzinfo=UTC))
    _charged(database, "cast_old", datetime(2026, 10, 20, tzinfo=UTC), 5)
    _charged(database, "cast_new", datetime(2026, 11, 20, tzinfo=UTC), 7)
    ledger = LedgerService(clock=clock)
    with database.unit_of_work(write=False) as uow:
        report = ledger.usage(uow, "usr_c", group_by="day")
    assert report.model_dump(by_alias=True) == {
        "from": "2026-10-24T12:00:00.000Z",
        "to": "2026-11-23T12:00:00.000Z",
        "group_by": "day",
        "items": [{"spell": None, "day": "2026-11-20", "currency": "USD", "amount_micros": 7, "casts": 1}],
    }
    clock.advance(40 * 86_400)
    with database.unit_of_work(write=False) as uow:
        assert ledger.usage(uow, "usr_c").items == []


def test_usage_refuses_a_range_that_ends_before_it_starts(database: Database) -> None:
    start = datetime(2026, 11, 2, tzinfo=UTC)
    with pytest.raises(InvalidInput) as exc, database.unit_of_work(write=False) as uow:
        LedgerService().usage(uow, "usr_c", start=start, end=start)
    assert exc.value.code == "VALIDATION_ERROR"
