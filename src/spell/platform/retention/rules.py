"""The cast and artifact rules: each one batch of rows in the unit of work it is given.

A batch is chosen with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two nodes running retention at
once take different rows; SQLite's write transactions are serial already. Every change is conditioned
on the row's mark still being unset, so a rerun (or a race lost) changes nothing twice. Rows of held
users and tenants are never chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, delete, exists, func, select

from spell.models import Artifact, Cast, CastEvent
from spell.platform.retention.holds import held_tenants, held_users
from spell.storage.blobs import BlobStore
from spell.storage.session import UnitOfWork

__all__ = [
    "CAST_RULES",
    "LOG_EVENT_TYPES",
    "CastRule",
    "count_expired_artifacts",
    "delete_expired_artifacts",
    "expired_artifacts",
]

# What a cast printed or reported on its way; its lifecycle events (queued, running, the end) stay.
LOG_EVENT_TYPES = ("log", "progress")


@dataclass(frozen=True)
class CastRule:
    """One rule over ended casts: the mark it sets, the period it waits, what it changes."""

    name: str
    mark: str  # the column set when the rule has run on a cast
    days_setting: str  # the RetentionSettings field of its period
    report_field: str  # the RetentionReport count it adds to

    def due(self, cutoff: datetime) -> Select[Cast]:
        """Ended casts past the period, not yet done, of no held user or tenant."""
        column = getattr(Cast, self.mark)
        return (
            select(Cast)
            .where(Cast.finished_at < cutoff, column.is_(None))
            .where(Cast.user_id.not_in(held_users()), Cast.tenant_id.not_in(held_tenants()))
        )

    def count(self, uow: UnitOfWork, cutoff: datetime) -> int:
        """How many casts a run would change now (``--dry-run``)."""
        query = self.due(cutoff).with_only_columns(func.count())
        return int(uow.session.scalar(query) or 0)

    def apply(self, uow: UnitOfWork, cutoff: datetime, now: datetime, limit: int) -> tuple[int, int]:
        """Change one batch: the casts changed, and the events deleted."""
        session = uow.session
        query = self.due(cutoff).order_by(Cast.finished_at).limit(limit).with_for_update(skip_locked=True)
        casts = list(session.scalars(query))
        if not casts:
            return 0, 0
        events = _CHANGES[self.name](uow, casts)
        for cast in casts:
            setattr(cast, self.mark, now)
        session.flush()
        return len(casts), events


def _reduce_inputs(uow: UnitOfWork, casts: list[Cast]) -> int:
    # The digest was taken when the cast was made; it still answers "was this the input?".
    for cast in casts:
        cast.input = cast.input_digest
    return 0


def _prune_outputs(uow: UnitOfWork, casts: list[Cast]) -> int:
    # The error message may quote what the program printed; the error code stays.
    for cast in casts:
        cast.output, cast.error_message = None, None
    return 0


def _prune_logs(uow: UnitOfWork, casts: list[Cast]) -> int:
    result = uow.session.execute(
        delete(CastEvent)
        .where(CastEvent.cast_id.in_([cast.id for cast in casts]), CastEvent.type.in_(LOG_EVENT_TYPES))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


_CHANGES: dict[str, Callable[[UnitOfWork, list[Cast]], int]] = {
    "inputs": _reduce_inputs,
    "outputs": _prune_outputs,
    "logs": _prune_logs,
}

CAST_RULES = (
    CastRule("inputs", "input_reduced_at", "input_days", "inputs_reduced"),
    CastRule("outputs", "output_pruned_at", "output_days", "outputs_pruned"),
    CastRule("logs", "logs_pruned_at", "log_days", "logs_pruned"),
)


def _artifact_not_held() -> ColumnElement[bool]:
    held_cast = exists().where(Cast.id == Artifact.cast_id, Cast.user_id.in_(held_users()))
    return Artifact.tenant_id.not_in(held_tenants()) & ~held_cast


def expired_artifacts(now: datetime) -> Select[Artifact]:
    """Artifacts past their expiry whose bytes are still stored, of no held user or tenant."""
    return select(Artifact).where(
        Artifact.expires_at <= now, Artifact.deleted_at.is_(None), _artifact_not_held()
    )


def count_expired_artifacts(uow: UnitOfWork, now: datetime) -> int:
    """How many artifacts a run would delete now (``--dry-run``)."""
    query = select(func.count()).select_from(expired_artifacts(now).subquery())
    return int(uow.session.scalar(query) or 0)


def delete_expired_artifacts(uow: UnitOfWork, blobs: BlobStore, now: datetime, limit: int) -> tuple[int, int]:
    """Mark one batch of expired artifacts deleted and remove the blobs no other artifact still uses;
    the artifacts marked and the blobs removed.

    The blobs go before the commit: should it fail, the rows stay expired (410 all the same) and the
    next run deletes again, which is fine for a blob already gone; no blob is ever left behind by a
    committed mark.
    """
    session = uow.session
    query = (
        expired_artifacts(now).order_by(Artifact.expires_at).limit(limit).with_for_update(skip_locked=True)
    )
    rows = list(session.scalars(query))
    if not rows:
        return 0, 0
    for row in rows:
        row.deleted_at = now
    session.flush()
    removed = 0
    for sha in sorted({row.sha256 for row in rows}):
        # Content-addressed: the same bytes may back a live artifact of another cast.
        in_use = session.scalar(
            select(func.count()).where(Artifact.sha256 == sha, Artifact.deleted_at.is_(None))
        )
        if not in_use:
            blobs.delete(sha)
            removed += 1
    return len(rows), removed
