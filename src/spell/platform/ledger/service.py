"""Write balanced, idempotent ledger transactions, read them back, and check balances against postings.

Every transaction has a unique idempotency key (``<cast id>:capture``, ``stripe:<event id>``…): writing
the same key twice returns the first transaction and moves nothing. Running balances are moved in the
same database transaction as the postings, with guarded updates that refuse to take a wallet, hold or
earnings account below zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from spell.errors import InvalidInput
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.kit.money import MAX_MICROS, Money, check_currency
from spell.kit.time import to_rfc3339
from spell.models.ledger import ACCOUNT_KINDS, LedgerPosting, LedgerTransaction
from spell.platform.ledger.errors import InsufficientCredits, LedgerDrift, LedgerUnbalanced
from spell.platform.ledger.repository import NON_NEGATIVE_KINDS, LedgerRepository
from spell.platform.ledger.schemas import (
    Earnings,
    EarningsBalance,
    LedgerCheck,
    LedgerEntry,
    LedgerPage,
    SpellEarnings,
    UsageLine,
    UsageReport,
)
from spell.storage.session import UnitOfWork

__all__ = ["PLATFORM", "USAGE_DAYS", "LedgerService", "Leg"]

PLATFORM = "platform"  # owner of the revenue, clearing and refunds accounts
USAGE_DAYS = 30  # the usage report's range when the caller names no start


@dataclass(frozen=True)
class Leg:
    """One posting to be written: ``amount`` micros into ``owner_id``'s ``kind`` account."""

    owner_id: str
    kind: str
    amount: int


class LedgerService:
    """The ledger; stateless, every method works in the unit of work it is given."""

    def __init__(self, *, clock: Clock | None = None, repository: LedgerRepository | None = None) -> None:
        self.clock = clock or SystemClock()
        self.repo = repository or LedgerRepository()

    # -- writing ------------------------------------------------------------------------------
    def find(self, uow: UnitOfWork, idempotency_key: str) -> LedgerTransaction | None:
        """The transaction written under ``idempotency_key``, if any."""
        return self.repo.transaction(uow.session, idempotency_key)

    def post(
        self,
        uow: UnitOfWork,
        idempotency_key: str,
        *,
        kind: str,
        currency: str,
        legs: Sequence[Leg],
        cast_id: str | None = None,
        memo: dict[str, Any] | None = None,
    ) -> LedgerTransaction:
        """Write one balanced transaction, or return the one already written under this key."""
        existing = self.find(uow, idempotency_key)
        if existing is not None:
            return existing
        check_currency(currency)
        legs = [leg for leg in legs if leg.amount != 0]
        _check_legs(idempotency_key, legs)
        session = uow.session
        now = self.clock.now()
        txn = LedgerTransaction(
            id=new_id("txn"),
            idempotency_key=idempotency_key,
            kind=kind,
            cast_id=cast_id,
            currency=currency,
            memo=dict(memo or {}),
            created_at=now,
        )
        session.add(txn)
        # Row locks are taken in account-id order, the same in every transaction, so two concurrent
        # transfers touching the same accounts wait for each other instead of deadlocking.
        # Within one account credits come first, so a leg pair on it never trips its own guard.
        resolved = sorted(
            ((self.repo.account_id(session, leg.owner_id, leg.kind, currency), leg) for leg in legs),
            key=lambda pair: (pair[0], -pair[1].amount),
        )
        for account_id, leg in resolved:
            if not self.repo.move(session, account_id, leg.amount, guard=leg.kind in NON_NEGATIVE_KINDS):
                raise self._refusal(uow, leg, account_id, currency)
            session.add(
                LedgerPosting(
                    transaction_id=txn.id, account_id=account_id, amount_micros=leg.amount, created_at=now
                )
            )
        session.flush()
        return txn

    def _refusal(self, uow: UnitOfWork, leg: Leg, account_id: str, currency: str) -> Exception:
        balance = Money(self.repo.balance(uow.session, account_id), currency)
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

    def credit(
        self, uow: UnitOfWork, owner_id: str, amount: Money, *, idempotency_key: str, memo: dict[str, Any]
    ) -> LedgerTransaction:
        """Put money from outside (an operator grant, a card top-up) into ``owner_id``'s wallet."""
        if amount.micros <= 0:
            raise InvalidInput("a credit must be positive", details={"amount_micros": amount.micros})
        return self.post(
            uow,
            idempotency_key,
            kind="credit",
            currency=amount.currency,
            legs=[Leg(owner_id, "wallet", amount.micros), Leg(PLATFORM, "clearing", -amount.micros)],
            memo=memo,
        )

    # -- reading ------------------------------------------------------------------------------
    def balance(self, uow: UnitOfWork, owner_id: str, kind: str, currency: str) -> Money:
        """The running balance of one account (0 when it was never used)."""
        return Money(self.repo.owner_balance(uow.session, owner_id, kind, currency), currency)

    def entries(
        self, uow: UnitOfWork, owner_id: str, *, limit: int = 50, before: int | None = None
    ) -> LedgerPage:
        """The owner's postings, newest first; ``next_cursor`` pages on (keyset by posting id)."""
        rows = self.repo.postings_of(uow.session, owner_id, limit=limit + 1, before=before)
        items = [LedgerEntry.from_row(posting, txn, account) for posting, txn, account in rows[:limit]]
        more = len(rows) > limit
        return LedgerPage(items=items, next_cursor=str(items[-1].id) if more and items else None)

    def usage(
        self,
        uow: UnitOfWork,
        caster_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        group_by: str = "spell",
    ) -> UsageReport:
        """What the caster was charged from ``start`` (default: 30 days ago) to ``end`` (default: now),
        per spell or per UTC day."""
        if group_by not in ("spell", "day"):
            raise InvalidInput("group_by must be 'spell' or 'day'", details={"group_by": group_by})
        start, end = self._range(start, end)
        groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for spell_id, settled_at, captured, currency in self.repo.captured(
            uow.session, caster_id, start=start, end=end
        ):
            key = spell_id if group_by == "spell" or settled_at is None else settled_at.date().isoformat()
            groups[(key, currency)][0] += int(captured)
            groups[(key, currency)][1] += 1
        items = [
            UsageLine.model_validate(
                {group_by: key, "currency": currency, "amount_micros": total, "casts": count}
            )
            for (key, currency), (total, count) in sorted(groups.items())
        ]
        return UsageReport.model_validate(
            {"from": to_rfc3339(start), "to": to_rfc3339(end), "group_by": group_by, "items": items}
        )

    def earnings(self, uow: UnitOfWork, maker_id: str) -> Earnings:
        """A maker's earnings balance per currency and what each spell brought in (after refunds)."""
        per_spell: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for spell_id, currency, captured, bps in self.repo.maker_charges(uow.session, maker_id):
            per_spell[(spell_id, currency)][0] += int(captured) * int(bps) // 10_000
            per_spell[(spell_id, currency)][1] += 1
        return Earnings(
            balances=[
                EarningsBalance(currency=c, amount_micros=b)
                for c, b in self.repo.earnings_balances(uow.session, maker_id)
            ],
            spells=[
                SpellEarnings(spell_id=s, currency=c, amount_micros=total, casts=n)
                for (s, c), (total, n) in sorted(per_spell.items())
            ],
        )

    def earnings_by_day(
        self, uow: UnitOfWork, maker_id: str, *, start: datetime | None = None, end: datetime | None = None
    ) -> UsageReport:
        """The maker's share of its charges settled from ``start`` (default: 30 days ago) to ``end``
        (default: now), per UTC day; refunded charges are left out, as in ``earnings``."""
        start, end = self._range(start, end)
        groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for settled_at, currency, captured, bps in self.repo.maker_charges_between(
            uow.session, maker_id, start=start, end=end
        ):
            if settled_at is None:
                continue
            key = (settled_at.date().isoformat(), currency)
            groups[key][0] += int(captured) * int(bps) // 10_000
            groups[key][1] += 1
        items = [
            UsageLine(day=day, currency=currency, amount_micros=total, casts=count)
            for (day, currency), (total, count) in sorted(groups.items())
        ]
        return UsageReport.model_validate(
            {"from": to_rfc3339(start), "to": to_rfc3339(end), "group_by": "day", "items": items}
        )

    def _range(self, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
        """``[start, end)`` with the defaults filled in: the last ``USAGE_DAYS`` days up to now."""
        now = self.clock.now()
        start = now - timedelta(days=USAGE_DAYS) if start is None else start
        end = now if end is None else end
        if end <= start:
            raise InvalidInput(
                "'to' must be after 'from'", details={"from": to_rfc3339(start), "to": to_rfc3339(end)}
            )
        return start, end

    def verify(self, uow: UnitOfWork) -> LedgerCheck:
        """Recompute every balance from postings; raise ``LedgerDrift`` naming each account that differs."""
        session = uow.session
        sums = self.repo.posting_sums(session)
        drift = []
        accounts = 0
        for account in self.repo.accounts(session):
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
        unbalanced = self.repo.unbalanced_transactions(session)
        if drift or unbalanced:
            raise LedgerDrift(
                f"{len(drift)} account(s) drifted from their postings,"
                f" {len(unbalanced)} unbalanced transaction(s)",
                details={"drift": drift, "unbalanced_transactions": unbalanced},
            )
        return LedgerCheck(accounts=accounts, drift=[], unbalanced_transactions=[])


def _check_legs(idempotency_key: str, legs: Sequence[Leg]) -> None:
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
