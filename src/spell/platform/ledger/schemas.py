"""Wire shapes of the ledger: amounts, a caller's postings, usage, a maker's earnings, checks and grants.

Amounts are integer micro-units with their currency; times are RFC 3339 text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from spell.kit.money import Money
from spell.kit.time import to_rfc3339

if TYPE_CHECKING:  # rows are only read here: the SDK imports these shapes without the database models
    from spell.models.ledger import LedgerAccount, LedgerPosting, LedgerTransaction

__all__ = [
    "CreditGrant",
    "Earnings",
    "EarningsBalance",
    "LedgerCheck",
    "LedgerEntry",
    "LedgerPage",
    "MoneyAmount",
    "SpellEarnings",
    "UsageLine",
    "UsageReport",
]


class MoneyAmount(BaseModel):
    """An amount: integer micro-units, its currency, and the exact decimal text."""

    amount_micros: int
    currency: str
    amount: str

    @classmethod
    def of(cls, money: Money) -> MoneyAmount:
        """The wire form of ``money``."""
        return cls(amount_micros=money.micros, currency=money.currency, amount=str(money.to_decimal()))


class LedgerEntry(BaseModel):
    """One posting to one of the caller's accounts."""

    id: int
    transaction_id: str
    kind: str
    account: str
    amount_micros: int
    currency: str
    cast_id: str | None
    created_at: str

    @classmethod
    def from_row(cls, posting: LedgerPosting, txn: LedgerTransaction, account: LedgerAccount) -> LedgerEntry:
        """A posting with what its transaction and account say about it."""
        return cls(
            id=posting.id,
            transaction_id=txn.id,
            kind=txn.kind,
            account=account.kind,
            amount_micros=posting.amount_micros,
            currency=account.currency,
            cast_id=txn.cast_id,
            created_at=to_rfc3339(posting.created_at),
        )


class LedgerPage(BaseModel):
    """The caller's postings, newest first."""

    items: list[LedgerEntry]
    next_cursor: str | None = Field(description="pass as ``cursor`` for the next page")


class UsageLine(BaseModel):
    """What one spell (or one UTC day) cost: only the field named by ``group_by`` is present."""

    spell: str | None = None
    day: str | None = None
    currency: str
    amount_micros: int
    casts: int


class UsageReport(BaseModel):
    """What the caller was charged in ``[from, to)``."""

    model_config = ConfigDict(populate_by_name=True)

    start: str = Field(alias="from")
    end: str = Field(alias="to")
    group_by: str
    items: list[UsageLine]


class EarningsBalance(BaseModel):
    """A maker's earnings balance in one currency."""

    currency: str
    amount_micros: int


class SpellEarnings(BaseModel):
    """What one spell brought its maker (after refunds)."""

    spell_id: str
    currency: str
    amount_micros: int
    casts: int


class Earnings(BaseModel):
    """A maker's balances and revenue per spell."""

    balances: list[EarningsBalance]
    spells: list[SpellEarnings]


class LedgerCheck(BaseModel):
    """A consistent ledger: how many accounts were checked (the lists are empty when it passes)."""

    accounts: int
    drift: list[dict[str, Any]]
    unbalanced_transactions: list[str]


class CreditGrant(BaseModel):
    """Credit put into a user's wallet, and the wallet's balance after it."""

    user_id: str
    transaction_id: str
    credited: MoneyAmount
    balance: MoneyAmount
