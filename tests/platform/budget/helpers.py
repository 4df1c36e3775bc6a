"""Shared steps of the budget tests."""

from __future__ import annotations

from datetime import UTC, datetime

from spell.kit.clock import FakeClock
from spell.kit.money import Money
from spell.models.budget import Hold
from spell.platform.audit.service import AuditService
from spell.platform.budget.schemas import BudgetCaps
from spell.platform.budget.service import BudgetService
from spell.platform.ledger.service import LedgerService
from spell.storage.session import Database

NOW = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)


def budgets() -> BudgetService:
    """The budget service on a clock standing at 2026-11-23 17:30 UTC."""
    clock = FakeClock(NOW)
    return BudgetService(LedgerService(clock=clock), AuditService(clock=clock), clock=clock)


def fund(db: Database, caster: str, micros: int, currency: str = "USD") -> None:
    """Credit a caster's wallet."""
    with db.unit_of_work() as uow:
        LedgerService().credit(
            uow, caster, Money(micros, currency), idempotency_key=f"fund:{caster}", memo={}
        )


def set_caps(db: Database, caster: str, **caps: int | None) -> None:
    """Set a caster's caps."""
    with db.unit_of_work() as uow:
        budgets().set_caps(uow, caster, BudgetCaps(**caps))


def reserve(db: Database, cast_id: str, micros: int, caster: str = "usr_c", currency: str = "USD") -> Hold:
    """Reserve ``micros`` for a cast by ``caster`` of a spell made by ``usr_m``."""
    with db.unit_of_work() as uow:
        return budgets().reserve(
            uow,
            cast_id=cast_id,
            caster_id=caster,
            spell_id="acme/x",
            maker_id="usr_m",
            estimate=Money(micros, currency),
            maker_share_bps=8_000,
        )
