"""Casts of a ``one_time`` spell that all held its price settle at once: exactly one buys it, on SQLite
and PostgreSQL, each settlement in its own committing transaction."""

from __future__ import annotations

import threading

from sqlalchemy import select

from spell.bundle.manifest import SpellManifest
from spell.models import Cast, Entitlement, Hold
from spell.platform.audit.service import AuditService
from spell.platform.billing.entitlements import EntitlementService
from spell.platform.billing.revenue import RevenueShareService
from spell.platform.billing.service import LedgerCastMoney
from spell.platform.ledger.service import LedgerService
from spell.runtimes.base import Limits, Outcome, Usage
from spell.storage.session import Database
from tests.platform.budget.helpers import budgets, fund

PRICE = 1_000_000
CASTS = 8
MANIFEST = SpellManifest.from_dict(
    {
        "id": "acme/once",
        "version": "1.0.0",
        "name": "once",
        "runtime": {"execution": "builtin", "builtin": "echo"},
        "pricing": {"model": "one_time", "amount_micros": PRICE},
    }
)


def _money() -> LedgerCastMoney:
    audit = AuditService()
    return LedgerCastMoney(budgets(), audit, RevenueShareService(audit), EntitlementService())


def _cast(index: int) -> Cast:
    return Cast(id=f"cast_{index}", tenant_id="ten_c", user_id="usr_c", spell_id="acme/once", version="1.0.0")


def test_racing_settlements_of_first_casts_charge_once(database: Database) -> None:
    fund(database, "usr_c", PRICE * CASTS)
    money = _money()
    for index in range(CASTS):  # none bought yet: every cast holds the price
        with database.unit_of_work() as uow:
            money.reserve(uow, _cast(index), MANIFEST, Limits())
    start = threading.Barrier(CASTS)
    errors: list[BaseException] = []

    def settle(index: int) -> None:
        try:
            start.wait(timeout=10)
            with database.unit_of_work() as uow:
                _money().settle(uow, _cast(index), MANIFEST, Outcome.SUCCEEDED, Usage(wall_ms=1.0))
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=settle, args=(i,)) for i in range(CASTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with database.unit_of_work(write=False) as uow:
        statuses = sorted(uow.session.scalars(select(Hold.status)))
        (bought,) = uow.session.scalars(select(Entitlement))
        winner = uow.session.scalar(select(Hold.cast_id).where(Hold.status == "captured"))
        ledger = LedgerService()
        ledger.verify(uow)
        wallet = ledger.balance(uow, "usr_c", "wallet", "USD").micros
        held = ledger.balance(uow, "usr_c", "holds", "USD").micros
    assert statuses == ["captured"] + ["released"] * (CASTS - 1)
    assert (bought.cast_id, bought.price_micros) == (winner, PRICE)
    assert bought.transaction_id is not None
    assert (wallet, held) == (PRICE * (CASTS - 1), 0)
    with database.unit_of_work() as uow:  # bought: the next cast holds nothing
        money.reserve(uow, _cast(99), MANIFEST, Limits())
        assert uow.session.get(Hold, "cast_99") is None


def test_a_failed_first_cast_buys_nothing(database: Database) -> None:
    fund(database, "usr_c", PRICE)
    money = _money()
    with database.unit_of_work() as uow:
        money.reserve(uow, _cast(1), MANIFEST, Limits())
    with database.unit_of_work() as uow:
        money.settle(uow, _cast(1), MANIFEST, Outcome.FAILED, Usage(wall_ms=1.0))
    with database.unit_of_work(write=False) as uow:
        assert not EntitlementService().holds(uow, "usr_c", "acme/once")
        assert LedgerService().balance(uow, "usr_c", "wallet", "USD").micros == PRICE
