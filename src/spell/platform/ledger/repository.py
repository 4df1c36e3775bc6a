"""SQL of the ledger: get-or-create accounts and move running balances with guarded updates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from spell.kit.ids import new_id
from spell.kit.time import utcnow
from spell.models.ledger import LedgerAccount

__all__ = ["NON_NEGATIVE_KINDS", "LedgerRepository", "insert_ignore"]

# Accounts whose balance is money someone holds; they may never go below zero. ``clearing`` mirrors
# money that came in from outside and is negative by design; ``revenue`` and ``refunds`` only grow
# or shrink by what they received.
NON_NEGATIVE_KINDS = frozenset({"wallet", "holds", "earnings", "revenue", "refunds"})


def insert_ignore(session: Session, table: Table, values: dict[str, Any], keys: list[str]) -> bool:
    """``INSERT … ON CONFLICT (keys) DO NOTHING`` on SQLite and PostgreSQL; True when a row was added."""
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
    # RETURNING tells reliably whether the row went in (rowcount is not portable for upserts).
    return session.execute(statement.returning(table.c[keys[0]])).first() is not None


class LedgerRepository:
    """Account lookups cached for one unit of work, and balance moves."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._ids: dict[tuple[str, str, str], str] = {}

    def account_id(self, owner_id: str, kind: str, currency: str) -> str:
        """The id of ``owner_id``'s ``kind`` account in ``currency``, created on first use."""
        key = (owner_id, kind, currency)
        cached = self._ids.get(key)
        if cached is not None:
            return cached
        found = self._lookup(owner_id, kind, currency)
        if found is not None:
            self._ids[key] = found
            return found
        table = LedgerAccount.__table__
        assert isinstance(table, Table)  # noqa: S101 - declarative tables are Table objects
        values = {
            "id": new_id("acct"),
            "owner_id": owner_id,
            "kind": kind,
            "currency": currency,
            "balance_micros": 0,
            "created_at": utcnow(),
        }
        insert_ignore(self.session, table, values, ["owner_id", "kind", "currency"])
        found = self._lookup(owner_id, kind, currency)
        assert found is not None  # noqa: S101 - inserted or already there, in this transaction
        self._ids[key] = found
        return found

    def _lookup(self, owner_id: str, kind: str, currency: str) -> str | None:
        return self.session.scalar(
            select(LedgerAccount.id).where(
                LedgerAccount.owner_id == owner_id,
                LedgerAccount.kind == kind,
                LedgerAccount.currency == currency,
            )
        )

    def balance(self, account_id: str) -> int:
        """The running balance of one account."""
        value = self.session.scalar(
            select(LedgerAccount.balance_micros).where(LedgerAccount.id == account_id)
        )
        return int(value or 0)

    def move(self, account_id: str, delta: int, *, guard: bool) -> bool:
        """Add ``delta`` to a balance; with ``guard`` refuse (return False) when it would go negative."""
        statement = update(LedgerAccount).where(LedgerAccount.id == account_id)
        if guard and delta < 0:
            statement = statement.where(LedgerAccount.balance_micros >= -delta)
        result = self.session.execute(
            statement.values(balance_micros=LedgerAccount.balance_micros + delta),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0) == 1)
