"""Read models over the ledger: a user's entries, usage per spell or day, a maker's earnings."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from spell.errors import InvalidInput
from spell.kit.time import to_rfc3339
from spell.models.budget import Hold
from spell.models.ledger import LedgerAccount, LedgerPosting, LedgerTransaction

__all__ = ["earnings", "entries", "usage"]


def entries(session: Session, owner_id: str, *, limit: int = 50, before: int | None = None) -> dict[str, Any]:
    """The owner's postings, newest first; ``next_cursor`` pages on (keyset by posting id)."""
    query = (
        select(LedgerPosting, LedgerTransaction, LedgerAccount)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerPosting.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
        .where(LedgerAccount.owner_id == owner_id)
        .order_by(LedgerPosting.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(LedgerPosting.id < before)
    rows = list(session.execute(query))
    items = [
        {
            "id": posting.id,
            "transaction_id": txn.id,
            "kind": txn.kind,
            "account": account.kind,
            "amount_micros": posting.amount_micros,
            "currency": account.currency,
            "cast_id": txn.cast_id,
            "created_at": to_rfc3339(posting.created_at),
        }
        for posting, txn, account in rows[:limit]
    ]
    more = len(rows) > limit
    return {"items": items, "next_cursor": str(items[-1]["id"]) if more and items else None}


def usage(
    session: Session, caster_id: str, *, start: datetime, end: datetime, group_by: str = "spell"
) -> list[dict[str, Any]]:
    """What the caster was charged between ``start`` and ``end``, per spell or per UTC day."""
    if group_by not in ("spell", "day"):
        raise InvalidInput("group_by must be 'spell' or 'day'", details={"group_by": group_by})
    if end <= start:
        raise InvalidInput(
            "'to' must be after 'from'", details={"from": to_rfc3339(start), "to": to_rfc3339(end)}
        )
    rows = session.execute(
        select(Hold.spell_id, Hold.settled_at, Hold.captured_micros, Hold.currency).where(
            Hold.caster_id == caster_id,
            Hold.status == "captured",
            Hold.settled_at >= start,
            Hold.settled_at < end,
        )
    )
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for spell_id, settled_at, captured, currency in rows:
        key = spell_id if group_by == "spell" or settled_at is None else settled_at.date().isoformat()
        groups[(key, currency)][0] += int(captured)
        groups[(key, currency)][1] += 1
    return [
        {group_by: key, "currency": currency, "amount_micros": total, "casts": count}
        for (key, currency), (total, count) in sorted(groups.items())
    ]


def earnings(session: Session, maker_id: str) -> dict[str, Any]:
    """A maker's earnings balance per currency and what each spell brought in (after refunds)."""
    balances = session.execute(
        select(LedgerAccount.currency, LedgerAccount.balance_micros).where(
            LedgerAccount.owner_id == maker_id, LedgerAccount.kind == "earnings"
        )
    )
    per_spell: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    holds = session.execute(
        select(Hold.spell_id, Hold.currency, Hold.captured_micros, Hold.maker_share_bps).where(
            Hold.maker_id == maker_id, Hold.status == "captured"
        )
    )
    for spell_id, currency, captured, bps in holds:
        per_spell[(spell_id, currency)][0] += int(captured) * int(bps) // 10_000
        per_spell[(spell_id, currency)][1] += 1
    return {
        "balances": [{"currency": c, "amount_micros": int(b)} for c, b in sorted(balances)],
        "spells": [
            {"spell_id": s, "currency": c, "amount_micros": total, "casts": n}
            for (s, c), (total, n) in sorted(per_spell.items())
        ],
    }
