"""Folding old audit records into a signed checkpoint (``spell.platform.audit.checkpoint``).

Each lane of the log (``spell.platform.audit.repository``) folds on its own. One batch goes through the
lanes: in each, the records after its newest checkpoint that are older than the audit period (in chain
order, stopping at the first younger one) are deleted, except those that back money movements (kept
for the ledger period) and those of held users and tenants; records kept by earlier folds whose
reason has lapsed go too. A new checkpoint of the lane then covers everything up to the last record
looked at. A batch looks at about ``limit`` records in all, lane after lane.
Folds are ordered by a PostgreSQL advisory lock (``lock_folds``; SQLite's writes are serial), and a
checkpoint's lane and number are its primary key, so two nodes never both write a lane's next one;
only each lane's newest is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import takewhile

from sqlalchemy import ColumnElement, and_, delete, func, or_, select

from spell.models import AuditCheckpoint, AuditRecord
from spell.platform.audit.checkpoint import EMPTY_DIGEST, CheckpointKey, extend_digest, lock_folds
from spell.platform.audit.repository import AuditRepository
from spell.platform.retention.holds import held_tenants, held_users
from spell.storage.keyset import keyset_pages
from spell.storage.session import UnitOfWork

__all__ = ["LEDGER_ACTIONS", "AuditFold", "FoldCutoffs"]

# Records of money that moved or could have: bookkeeping law keeps them for the ledger period.
LEDGER_ACTIONS = frozenset(
    {
        "credit.granted",
        "charge.captured",
        "charge.refunded",
        "payment.succeeded",
        "payment.failed",
        "payment.refunded",
        "payment.disputed",
        "budget.changed",
        "revenue_share.changed",
    }
)
_READ = 1_000


@dataclass(frozen=True)
class FoldCutoffs:
    """Records older than ``audit`` fold; money records only when older than ``ledger`` too."""

    audit: datetime
    ledger: datetime


def _lapsed(cutoffs: FoldCutoffs) -> ColumnElement[bool]:
    """Records whose period is over and that no hold keeps."""
    money = AuditRecord.action.in_(LEDGER_ACTIONS)
    aged = or_(and_(money, AuditRecord.at < cutoffs.ledger), and_(~money, AuditRecord.at < cutoffs.audit))
    not_held = and_(
        or_(AuditRecord.actor_id.is_(None), AuditRecord.actor_id.not_in(held_users())),
        or_(AuditRecord.tenant_id.is_(None), AuditRecord.tenant_id.not_in(held_tenants())),
    )
    return and_(aged, not_held)


class AuditFold:
    """Folds the audit log in batches, signing each checkpoint with ``key``."""

    def __init__(self, key: CheckpointKey, repo: AuditRepository | None = None) -> None:
        self.key = key
        self.repo = repo or AuditRepository()

    def count(self, uow: UnitOfWork, cutoffs: FoldCutoffs) -> int:
        """About how many records a run would fold now (``--dry-run``)."""
        return int(uow.session.scalar(select(func.count()).where(_lapsed(cutoffs))) or 0)

    def batch(self, uow: UnitOfWork, cutoffs: FoldCutoffs, now: datetime, limit: int) -> tuple[int, int]:
        """Fold one batch: the records looked at (0 when there is nothing left) and those deleted."""
        session = uow.session
        lock_folds(session, shared=False)
        looked = deleted = 0
        for lane in self.repo.lanes(session):
            lane_looked, lane_deleted = self._fold_lane(uow, lane, cutoffs, now, limit - looked)
            looked, deleted = looked + lane_looked, deleted + lane_deleted
            if looked >= limit:
                break
        return looked, deleted

    def _fold_lane(
        self, uow: UnitOfWork, lane: int, cutoffs: FoldCutoffs, now: datetime, limit: int
    ) -> tuple[int, int]:
        session = uow.session
        previous = self.repo.latest_checkpoint(session, lane)
        start = previous.last_seq if previous else 0
        in_lane = AuditRecord.lane == lane
        # Records kept by an earlier fold whose money period ended or whose hold was released.
        lapsed = list(
            session.scalars(
                select(AuditRecord.lane_seq)
                .where(in_lane, AuditRecord.lane_seq <= start, _lapsed(cutoffs))
                .order_by(AuditRecord.lane_seq)
                .limit(limit)
            )
        )
        after = self.repo.lane_records(session, lane, after=start, limit=limit)
        older = list(takewhile(lambda record: record.at < cutoffs.audit, after))
        if not lapsed and not older:
            return 0, 0
        fold = set(
            session.scalars(
                select(AuditRecord.lane_seq).where(
                    in_lane, AuditRecord.lane_seq.in_([record.lane_seq for record in older]), _lapsed(cutoffs)
                )
            )
        )
        gone = [*lapsed, *sorted(fold)]
        for first in range(0, len(gone), _READ):
            session.execute(
                delete(AuditRecord).where(in_lane, AuditRecord.lane_seq.in_(gone[first : first + _READ]))
            )
        if lapsed or previous is None:
            digest, kept = self._kept_below(uow, lane, start)
        else:
            digest, kept = previous.kept_digest, previous.kept
        for record in older:
            if record.lane_seq not in fold:
                digest, kept = extend_digest(digest, record.lane_seq, record.hash), kept + 1
        last = older[-1] if older else None
        checkpoint = AuditCheckpoint(
            lane=lane,
            number=(previous.number if previous else 0) + 1,
            last_seq=last.lane_seq if last else start,
            head_hash=last.hash if last else previous.head_hash if previous else "",
            folded=(previous.folded if previous else 0) + len(gone),
            kept=kept,
            kept_digest=digest,
            first_at=previous.first_at if previous else older[0].at,
            last_at=last.at if last else previous.last_at if previous else None,
            created_at=now,
        )
        self.key.sign(checkpoint)
        session.add(checkpoint)
        session.flush()
        # The new checkpoint covers all its predecessors did: they would only pile up.
        session.execute(
            delete(AuditCheckpoint).where(
                AuditCheckpoint.lane == lane, AuditCheckpoint.number < checkpoint.number
            )
        )
        return len(lapsed) + len(older), len(gone)

    def _kept_below(self, uow: UnitOfWork, lane: int, last_seq: int) -> tuple[str, int]:
        """The digest and count of ``lane``'s records still kept up to ``last_seq`` (after deletions)."""
        digest, kept = EMPTY_DIGEST, 0
        pages = keyset_pages(
            lambda after: uow.session.execute(
                select(AuditRecord.lane_seq, AuditRecord.hash)
                .where(
                    AuditRecord.lane == lane, AuditRecord.lane_seq > after, AuditRecord.lane_seq <= last_seq
                )
                .order_by(AuditRecord.lane_seq)
                .limit(_READ)
            ).all(),
            0,
            lambda row: int(row.lane_seq),
        )
        for rows in pages:
            for seq, record_hash in rows:
                digest, kept = extend_digest(digest, seq, record_hash), kept + 1
        return digest, kept
