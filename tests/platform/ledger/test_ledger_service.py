"""Balanced, idempotent ledger transactions with running balances, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from spell.errors import InvalidInput
from spell.kit.money import Money
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
        LedgerService(uow.session).credit("usr_a", Money(5_000, "USD"), idempotency_key="grant:1", memo={})
    with database.unit_of_work(write=False) as uow:
        ledger = LedgerService(uow.session)
        assert ledger.balance("usr_a", "wallet", "USD").micros == 5_000
        assert ledger.balance(PLATFORM, "clearing", "USD").micros == -5_000
        assert ledger.verify()["accounts"] == 2


def test_the_same_idempotency_key_writes_once(database: Database) -> None:
    for _ in range(3):
        with database.unit_of_work() as uow:
            txn = LedgerService(uow.session).credit(
                "usr_a", Money(7, "USD"), idempotency_key="grant:x", memo={}
            )
            first = txn.id
    with database.unit_of_work(write=False) as uow:
        ledger = LedgerService(uow.session)
        assert ledger.balance("usr_a", "wallet", "USD").micros == 7
        found = ledger.find("grant:x")
        assert found is not None
        assert found.id == first


def test_unbalanced_or_unknown_legs_are_refused(database: Database) -> None:
    with pytest.raises(LedgerUnbalanced) as exc, database.unit_of_work() as uow:
        LedgerService(uow.session).post("k1", kind="x", currency="USD", legs=[Leg("u", "wallet", 1)])
    assert exc.value.code == "LEDGER_UNBALANCED"
    with pytest.raises(LedgerUnbalanced), database.unit_of_work() as uow:
        LedgerService(uow.session).post(
            "k2", kind="x", currency="USD", legs=[Leg("u", "purse", 1), Leg("u", "wallet", -1)]
        )


def test_a_wallet_never_goes_negative(database: Database) -> None:
    with pytest.raises(InsufficientCredits) as exc, database.unit_of_work() as uow:
        LedgerService(uow.session).post(
            "spend", kind="x", currency="USD", legs=[Leg("u", "wallet", -1), Leg("u", "holds", 1)]
        )
    assert exc.value.code == "INSUFFICIENT_CREDITS"
    assert exc.value.details["needed"]["amount_micros"] == 1


def test_other_guarded_accounts_never_go_negative(database: Database) -> None:
    with pytest.raises(LedgerUnbalanced) as exc, database.unit_of_work() as uow:
        LedgerService(uow.session).post(
            "k", kind="x", currency="USD", legs=[Leg("m", "earnings", -1), Leg("u", "wallet", 1)]
        )
    assert exc.value.details["amount_micros"] == -1


def test_credits_must_be_positive(database: Database) -> None:
    with pytest.raises(InvalidInput), database.unit_of_work() as uow:
        LedgerService(uow.session).credit("u", Money(0, "USD"), idempotency_key="z", memo={})


def test_verify_names_an_account_whose_balance_drifted(database: Database) -> None:
    with database.unit_of_work() as uow:
        LedgerService(uow.session).credit("usr_a", Money(10, "USD"), idempotency_key="g", memo={})
    with database.unit_of_work() as uow:
        uow.session.execute(
            update(LedgerAccount).where(LedgerAccount.kind == "wallet").values(balance_micros=11)
        )
    with pytest.raises(LedgerDrift) as exc, database.unit_of_work(write=False) as uow:
        LedgerService(uow.session).verify()
    assert exc.value.code == "LEDGER_DRIFT"
    (drift,) = exc.value.details["drift"]
    assert (drift["owner_id"], drift["balance_micros"], drift["postings_micros"]) == ("usr_a", 11, 10)
