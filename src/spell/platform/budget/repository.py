"""SQL of budgets: the per-caster lock row and the window totals, moved with atomic updates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from spell.kit.time import utcnow
from spell.models.budget import Budget, BudgetUsage
from spell.platform.ledger.repository import insert_ignore

__all__ = ["BudgetRepository"]


def _table(model: type[Budget] | type[BudgetUsage]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)  # noqa: S101 - declarative tables are Table objects
    return table


class BudgetRepository:
    """Budget rows of one unit of work."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def ensure(self, caster_id: str, currency: str) -> None:
        """Create the caster's budget row (no caps) if it does not exist."""
        values = {"caster_id": caster_id, "currency": currency, "lock_version": 0, "updated_at": utcnow()}
        insert_ignore(self.session, _table(Budget), values, ["caster_id"])

    def lock(self, caster_id: str, currency: str) -> Budget:
        """Take the caster's row lock (PostgreSQL) by bumping it, and return the fresh row.

        On SQLite the unit of work already holds the write lock (``BEGIN IMMEDIATE``).
        """
        row = Budget.caster_id == caster_id
        bump = update(Budget).where(row).values(lock_version=Budget.lock_version + 1)
        result = self.session.execute(bump, execution_options={"synchronize_session": False})
        if getattr(result, "rowcount", 0) != 1:
            self.ensure(caster_id, currency)
            self.session.execute(bump, execution_options={"synchronize_session": False})
        budget = self.session.scalar(
            select(Budget).where(Budget.caster_id == caster_id).execution_options(populate_existing=True)
        )
        assert budget is not None  # noqa: S101 - ensured above, in this transaction
        return budget

    def get(self, caster_id: str) -> Budget | None:
        """The caster's budget row, if any."""
        return self.session.get(Budget, caster_id)

    def usage(self, caster_id: str, window: str, start: datetime) -> BudgetUsage | None:
        """The totals of one window, if anything was ever reserved in it."""
        return self.session.scalar(
            select(BudgetUsage)
            .where(
                BudgetUsage.caster_id == caster_id,
                BudgetUsage.window == window,
                BudgetUsage.window_start == start,
            )
            .execution_options(populate_existing=True)
        )

    def add(self, caster_id: str, window: str, start: datetime, *, reserved: int, spent: int) -> None:
        """Move the window's totals by the given deltas (creating the row at zero first)."""
        if self._bump(caster_id, window, start, reserved=reserved, spent=spent):
            return
        values = {
            "caster_id": caster_id,
            "window": window,
            "window_start": start,
            "spent_micros": 0,
            "reserved_micros": 0,
        }
        insert_ignore(self.session, _table(BudgetUsage), values, ["caster_id", "window", "window_start"])
        self._bump(caster_id, window, start, reserved=reserved, spent=spent)

    def _bump(self, caster_id: str, window: str, start: datetime, *, reserved: int, spent: int) -> bool:
        result = self.session.execute(
            update(BudgetUsage)
            .where(
                BudgetUsage.caster_id == caster_id,
                BudgetUsage.window == window,
                BudgetUsage.window_start == start,
            )
            .values(
                reserved_micros=BudgetUsage.reserved_micros + reserved,
                spent_micros=BudgetUsage.spent_micros + spent,
            ),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0) == 1)
