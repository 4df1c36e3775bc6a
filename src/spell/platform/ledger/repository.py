"""SQL of the ledger: get-or-create accounts, guarded balance moves, and the read models' queries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from spell.kit.ids import new_id
from spell.kit.time import utcnow
from spell.models.budget import Hold
from spell.models.ledger import LedgerAccount, LedgerPosting, LedgerTransaction

__all__ = ["NON_NEGATIVE_KINDS", "LedgerRepository", "insert_ignore"]

# Accounts whose balance is money someone holds; they may never go below zero. ``clearing`` mirrors
# money that came in from outside and is negative by design; ``revenue`` and ``refunds`` only grow
# or shrink by what they received; ``payouts`` only grows by what a maker was paid.
NON_NEGATIVE_KINDS = frozenset({"wallet", "holds", "earnings", "revenue", "refunds", "payouts"})
_ACCOUNT_IDS = "spell.ledger_accounts"  # Session.info: account ids looked up in this transaction


def _forget_accounts(session: Session, _previous: Any = None) -> None:
    # An account created in a rolled-back transaction is gone: its id must not be reused.
    session.info.pop(_ACCOUNT_IDS, None)


event.listen(Session, "after_soft_rollback", _forget_accounts)


def insert_ignore(session: Session, table: Table, values: dict[str, Any], keys: list[str]) -> bool:
    """``INSERT … ON CONFLICT (keys) DO NOTHING`` on SQLite and PostgreSQL; True when a row was added."""
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
    # RETURNING tells reliably whether the row went in (rowcount is not portable for upserts).
    return session.execute(statement.returning(table.c[keys[0]])).first() is not None


class LedgerRepository:
    """Ledger rows; every method works in the session it is given."""

    def account_id(self, session: Session, owner_id: str, kind: str, currency: str) -> str:
        """The id of ``owner_id``'s ``kind`` account in ``currency``, created on first use."""
        ids: dict[tuple[str, str, str], str] = session.info.setdefault(_ACCOUNT_IDS, {})
        key = (owner_id, kind, currency)
        cached = ids.get(key)
        if cached is not None:
            return cached
        found = self._lookup(session, owner_id, kind, currency)
        if found is None:
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
            insert_ignore(session, table, values, ["owner_id", "kind", "currency"])
            found = self._lookup(session, owner_id, kind, currency)
            assert found is not None  # noqa: S101 - inserted or already there, in this transaction
        ids[key] = found
        return found

    @staticmethod
    def _lookup(session: Session, owner_id: str, kind: str, currency: str) -> str | None:
        return session.scalar(
            select(LedgerAccount.id).where(
                LedgerAccount.owner_id == owner_id,
                LedgerAccount.kind == kind,
                LedgerAccount.currency == currency,
            )
        )

    def balance(self, session: Session, account_id: str) -> int:
        """The running balance of one account."""
        value = session.scalar(select(LedgerAccount.balance_micros).where(LedgerAccount.id == account_id))
        return int(value or 0)

    def owner_balance(self, session: Session, owner_id: str, kind: str, currency: str) -> int:
        """The running balance of ``owner_id``'s ``kind`` account (0 when it was never used)."""
        value = session.scalar(
            select(LedgerAccount.balance_micros).where(
                LedgerAccount.owner_id == owner_id,
                LedgerAccount.kind == kind,
                LedgerAccount.currency == currency,
            )
        )
        return int(value or 0)

    def move(self, session: Session, account_id: str, delta: int, *, guard: bool) -> bool:
        """Add ``delta`` to a balance; with ``guard`` refuse (return False) when it would go negative."""
        statement = update(LedgerAccount).where(LedgerAccount.id == account_id)
        if guard and delta < 0:
            statement = statement.where(LedgerAccount.balance_micros >= -delta)
        result = session.execute(
            statement.values(balance_micros=LedgerAccount.balance_micros + delta),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def transaction(self, session: Session, idempotency_key: str) -> LedgerTransaction | None:
        """The transaction written under ``idempotency_key``, if any."""
        return session.scalar(
            select(LedgerTransaction).where(LedgerTransaction.idempotency_key == idempotency_key)
        )

    def postings_of(
        self, session: Session, owner_id: str, *, limit: int, before: int | None
    ) -> list[Row[LedgerPosting, LedgerTransaction, LedgerAccount]]:
        """Up to ``limit`` of the owner's postings with their transaction and account, newest first."""
        query = (
            select(LedgerPosting, LedgerTransaction, LedgerAccount)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerPosting.transaction_id)
            .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
            .where(LedgerAccount.owner_id == owner_id)
            .order_by(LedgerPosting.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(LedgerPosting.id < before)
        return list(session.execute(query))

    def captured(
        self, session: Session, caster_id: str, *, start: datetime, end: datetime
    ) -> Iterable[Row[str, datetime | None, int, str]]:
        """``(spell_id, settled_at, captured_micros, currency)`` of the caster's charges in a range."""
        return session.execute(
            select(Hold.spell_id, Hold.settled_at, Hold.captured_micros, Hold.currency).where(
                Hold.caster_id == caster_id,
                Hold.status == "captured",
                Hold.settled_at >= start,
                Hold.settled_at < end,
            )
        )

    def earnings_balances(self, session: Session, maker_id: str) -> list[tuple[str, int]]:
        """``(currency, balance)`` of the maker's earnings accounts, by currency."""
        rows = session.execute(
            select(LedgerAccount.currency, LedgerAccount.balance_micros).where(
                LedgerAccount.owner_id == maker_id, LedgerAccount.kind == "earnings"
            )
        )
        return sorted((str(currency), int(balance)) for currency, balance in rows)

    def maker_charges(self, session: Session, maker_id: str) -> Iterable[Row[str, str, int, int]]:
        """``(spell_id, currency, captured_micros, maker_share_bps)`` of the maker's captured holds."""
        return session.execute(
            select(Hold.spell_id, Hold.currency, Hold.captured_micros, Hold.maker_share_bps).where(
                Hold.maker_id == maker_id, Hold.status == "captured"
            )
        )

    def maker_charges_between(
        self, session: Session, maker_id: str, *, start: datetime, end: datetime
    ) -> Iterable[Row[datetime | None, str, int, int]]:
        """``(settled_at, currency, captured_micros, maker_share_bps)`` of the maker's charges in a range."""
        return session.execute(
            select(Hold.settled_at, Hold.currency, Hold.captured_micros, Hold.maker_share_bps).where(
                Hold.maker_id == maker_id,
                Hold.status == "captured",
                Hold.settled_at >= start,
                Hold.settled_at < end,
            )
        )

    def posting_sums(self, session: Session) -> dict[str, int]:
        """The sum of every account's postings, by account id."""
        totals = session.execute(
            select(
                LedgerPosting.account_id, func.coalesce(func.sum(LedgerPosting.amount_micros), 0)
            ).group_by(LedgerPosting.account_id)
        )
        return {account_id: int(total) for account_id, total in totals}

    def accounts(self, session: Session) -> Iterable[LedgerAccount]:
        """Every account, by id."""
        return session.scalars(select(LedgerAccount).order_by(LedgerAccount.id))

    def unbalanced_transactions(self, session: Session) -> list[str]:
        """Ids of transactions whose postings do not sum to zero."""
        rows = session.execute(
            select(LedgerPosting.transaction_id, func.sum(LedgerPosting.amount_micros))
            .group_by(LedgerPosting.transaction_id)
            .having(func.sum(LedgerPosting.amount_micros) != 0)
        )
        return [txn_id for txn_id, total in rows if total]
