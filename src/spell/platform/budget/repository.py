"""SQL of budgets: the per-caster lock row and the window totals, moved with atomic updates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from spell.models.budget import Budget, BudgetUsage, Hold
from spell.platform.ledger.repository import insert_ignore

__all__ = ["BudgetRepository"]


def _table(model: type[Budget] | type[BudgetUsage]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)  # noqa: S101 - declarative tables are Table objects
    return table


class BudgetRepository:
    """Budget rows; every method works in the session it is given."""

    def ensure(self, session: Session, caster_id: str, currency: str, now: datetime) -> None:
        """Create the caster's budget row (no caps) if it does not exist."""
        values = {"caster_id": caster_id, "currency": currency, "lock_version": 0, "updated_at": now}
        insert_ignore(session, _table(Budget), values, ["caster_id"])

    def lock(self, session: Session, caster_id: str, currency: str, now: datetime) -> Budget:
        """Take the caster's row lock (PostgreSQL) by bumping it, and return the fresh row.

        On SQLite the unit of work already holds the write lock (``BEGIN IMMEDIATE``).
        """
        row = Budget.caster_id == caster_id
        bump = update(Budget).where(row).values(lock_version=Budget.lock_version + 1)
        result = session.execute(bump, execution_options={"synchronize_session": False})
        if getattr(result, "rowcount", 0) != 1:
            self.ensure(session, caster_id, currency, now)
            session.execute(bump, execution_options={"synchronize_session": False})
        budget = session.scalar(
            select(Budget).where(Budget.caster_id == caster_id).execution_options(populate_existing=True)
        )
        assert budget is not None  # noqa: S101 - ensured above, in this transaction
        return budget

    def get(self, session: Session, caster_id: str) -> Budget | None:
        """The caster's budget row, if any."""
        return session.get(Budget, caster_id)

    def usage(self, session: Session, caster_id: str, window: str, start: datetime) -> BudgetUsage | None:
        """The totals of one window, if anything was ever reserved in it."""
        return session.scalar(
            select(BudgetUsage)
            .where(
                BudgetUsage.caster_id == caster_id,
                BudgetUsage.window == window,
                BudgetUsage.window_start == start,
            )
            .execution_options(populate_existing=True)
        )

    def add(
        self, session: Session, caster_id: str, window: str, start: datetime, *, reserved: int, spent: int
    ) -> None:
        """Move the window's totals by the given deltas (creating the row at zero first)."""
        if self._bump(session, caster_id, window, start, reserved=reserved, spent=spent):
            return
        values = {
            "caster_id": caster_id,
            "window": window,
            "window_start": start,
            "spent_micros": 0,
            "reserved_micros": 0,
        }
        insert_ignore(session, _table(BudgetUsage), values, ["caster_id", "window", "window_start"])
        self._bump(session, caster_id, window, start, reserved=reserved, spent=spent)

    @staticmethod
    def _bump(
        session: Session, caster_id: str, window: str, start: datetime, *, reserved: int, spent: int
    ) -> bool:
        result = session.execute(
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

    def hold(self, session: Session, cast_id: str) -> Hold | None:
        """The hold of a cast, read fresh (free casts have none)."""
        return session.scalar(
            select(Hold).where(Hold.cast_id == cast_id).execution_options(populate_existing=True)
        )

    def flip(
        self, session: Session, cast_id: str, old: str, new: str, *, captured: int, now: datetime
    ) -> bool:
        """Move a hold from ``old`` to ``new`` status; False when it was not in ``old`` (settled before)."""
        result = session.execute(
            update(Hold)
            .where(Hold.cast_id == cast_id, Hold.status == old)
            .values(status=new, captured_micros=captured, settled_at=now),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def has_open_holds(self, session: Session, caster_id: str) -> bool:
        """True while any of the caster's casts holds money."""
        found = session.scalar(
            select(Hold.cast_id).where(Hold.caster_id == caster_id, Hold.status == "held").limit(1)
        )
        return found is not None
