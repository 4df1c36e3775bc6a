"""Double-entry ledger: accounts with running balances, transactions and their postings.

Rows are append-only except ``LedgerAccount.balance_micros``, which is moved by the same transaction
that appends postings, so a balance check never sums history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base, JsonValue

__all__ = ["ACCOUNT_KINDS", "LedgerAccount", "LedgerPosting", "LedgerTransaction"]

# caster wallet / caster holds / maker earnings / platform revenue / payment clearing / refunds /
# what a maker was paid out
ACCOUNT_KINDS = ("wallet", "holds", "earnings", "revenue", "clearing", "refunds", "payouts")


class LedgerAccount(Base):
    """One account of one owner in one currency, with its running balance."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("owner_id", "kind", "currency"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(40))  # a user id, or "platform"
    kind: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    balance_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]


class LedgerTransaction(Base):
    """A set of postings that sum to zero, written once under a unique idempotency key."""

    __tablename__ = "ledger_transactions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    cast_id: Mapped[str | None] = mapped_column(String(40), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    memo: Mapped[dict[str, Any]] = mapped_column(JsonValue, default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)


class LedgerPosting(Base):
    """One signed amount moved into (positive) or out of (negative) an account."""

    __tablename__ = "ledger_postings"
    __table_args__ = (Index("ix_ledger_postings_account_id_id", "account_id", "id"),)

    # SQLite only auto-increments an INTEGER primary key.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
