"""Write balanced, idempotent ledger transactions and check balances against postings.

Every transaction has a unique idempotency key (``<cast id>:capture``, ``stripe:<event id>``…): writing
the same key twice returns the first transaction and moves nothing. Running balances are moved in the
same database transaction as the postings, with guarded updates that refuse to take a wallet, hold or
earnings account below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spell.errors import InvalidInput
from spell.kit.ids import new_id
from spell.kit.money import MAX_MICROS, Money, check_currency
from spell.kit.time import utcnow
from spell.models.ledger import ACCOUNT_KINDS, LedgerAccount, LedgerPosting, LedgerTransaction
from spell.platform.ledger.errors import InsufficientCredits, LedgerDrift, LedgerUnbalanced
from spell.platform.ledger.repository import NON_NEGATIVE_KINDS, LedgerRepository

__all__ = ["PLATFORM", "LedgerService", "Leg"]

PLATFORM = "platform"  # owner of the revenue, clearing and refunds accounts


@dataclass(frozen=True)
class Leg:
    """One posting to be written: ``amount`` micros into ``owner_id``'s ``kind`` account."""

    owner_id: str
    kind: str
    amount: int


class LedgerService:
    """The ledger of one unit of work."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.accounts = LedgerRepository(session)

    def find(self, idempotency_key: str) -> LedgerTransaction | None:
        """The transaction written under ``idempotency_key``, if any."""
        return self.session.scalar(
            select(LedgerTransaction).where(LedgerTransaction.idempotency_key == idempotency_key)
        )

    def post(
        self,
        idempotency_key: str,
        *,
        kind: str,
        currency: str,
        legs: Sequence[Leg],
        cast_id: str | None = None,
        memo: dict[str, Any] | None = None,
    ) -> LedgerTransaction:
        """Write one balanced transaction, or return the one already written under this key."""
        existing = self.find(idempotency_key)
        if existing is not None:
            return existing
        check_currency(currency)
        legs = [leg for leg in legs if leg.amount != 0]
        if sum(leg.amount for leg in legs) != 0:
            raise LedgerUnbalanced(
                f"transaction {idempotency_key!r} does not sum to zero",
                details={"legs": [leg.__dict__ for leg in legs]},
            )
        for leg in legs:
            if leg.kind not in ACCOUNT_KINDS:
                raise LedgerUnbalanced(f"unknown account kind {leg.kind!r}", details={"kind": leg.kind})
            if abs(leg.amount) > MAX_MICROS:
                raise InvalidInput(
                    f"{leg.amount} micro-units is beyond the largest amount",
                    details={"amount_micros": str(leg.amount), "max_micros": MAX_MICROS},
                )
        now = utcnow()
        txn = LedgerTransaction(
            id=new_id("txn"),
            idempotency_key=idempotency_key,
            kind=kind,
            cast_id=cast_id,
            currency=currency,
            memo=dict(memo or {}),
            created_at=now,
        )
        self.session.add(txn)
        # Row locks are taken in account-id order, the same in every transaction, so two concurrent
        # transfers touching the same accounts wait for each other instead of deadlocking.
        # Within one account credits come first, so a leg pair on it never trips its own guard.
        resolved = sorted(
            ((self.accounts.account_id(leg.owner_id, leg.kind, currency), leg) for leg in legs),
            key=lambda pair: (pair[0], -pair[1].amount),
        )
        for account_id, leg in resolved:
            if not self.accounts.move(account_id, leg.amount, guard=leg.kind in NON_NEGATIVE_KINDS):
                raise self._refusal(leg, account_id, currency)
            self.session.add(
                LedgerPosting(
                    transaction_id=txn.id, account_id=account_id, amount_micros=leg.amount, created_at=now
                )
            )
        self.session.flush()
        return txn

    def _refusal(self, leg: Leg, account_id: str, currency: str) -> Exception:
        balance = Money(self.accounts.balance(account_id), currency)
        needed = Money(-leg.amount, currency)
        if leg.kind == "wallet":
            return InsufficientCredits(
                f"the balance {balance} does not cover {needed}",
                details={"balance": balance.to_dict(), "needed": needed.to_dict()},
                hint="top up the wallet, or ask an operator for credit",
            )
        return LedgerUnbalanced(
            f"{leg.kind} account of {leg.owner_id} would go negative",
            details={"account_id": account_id, "balance_micros": balance.micros, "amount_micros": leg.amount},
        )

    def balance(self, owner_id: str, kind: str, currency: str) -> Money:
        """The running balance of one account (0 when it was never used)."""
        value = self.session.scalar(
            select(LedgerAccount.balance_micros).where(
                LedgerAccount.owner_id == owner_id,
                LedgerAccount.kind == kind,
                LedgerAccount.currency == currency,
            )
        )
        return Money(int(value or 0), currency)

    def credit(
        self, owner_id: str, amount: Money, *, idempotency_key: str, memo: dict[str, Any]
    ) -> LedgerTransaction:
        """Put money from outside (an operator grant, a card top-up) into ``owner_id``'s wallet."""
        if amount.micros <= 0:
            raise InvalidInput("a credit must be positive", details={"amount_micros": amount.micros})
        return self.post(
            idempotency_key,
            kind="credit",
            currency=amount.currency,
            legs=[Leg(owner_id, "wallet", amount.micros), Leg(PLATFORM, "clearing", -amount.micros)],
            memo=memo,
        )

    def verify(self) -> dict[str, Any]:
        """Recompute every balance from postings; raise ``LedgerDrift`` naming each account that differs."""
        totals = self.session.execute(
            select(
                LedgerPosting.account_id, func.coalesce(func.sum(LedgerPosting.amount_micros), 0)
            ).group_by(LedgerPosting.account_id)
        )
        sums: dict[str, int] = {account_id: int(total) for account_id, total in totals}
        drift = []
        accounts = 0
        for account in self.session.scalars(select(LedgerAccount).order_by(LedgerAccount.id)):
            accounts += 1
            expected = int(sums.get(account.id, 0))
            if expected != account.balance_micros:
                drift.append(
                    {
                        "account_id": account.id,
                        "owner_id": account.owner_id,
                        "kind": account.kind,
                        "currency": account.currency,
                        "balance_micros": account.balance_micros,
                        "postings_micros": expected,
                    }
                )
        unbalanced = [
            txn_id
            for txn_id, total in self.session.execute(
                select(LedgerPosting.transaction_id, func.sum(LedgerPosting.amount_micros))
                .group_by(LedgerPosting.transaction_id)
                .having(func.sum(LedgerPosting.amount_micros) != 0)
            )
            if total
        ]
        if drift or unbalanced:
            raise LedgerDrift(
                f"{len(drift)} account(s) drifted from their postings,"
                f" {len(unbalanced)} unbalanced transaction(s)",
                details={"drift": drift, "unbalanced_transactions": unbalanced},
            )
        return {"accounts": accounts, "drift": [], "unbalanced_transactions": []}
