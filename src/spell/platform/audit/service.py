"""Append to and verify the hash-chained audit log.

Appends bump the single ``audit_head`` row first: on PostgreSQL that row lock orders concurrent
appends, on SQLite the write transaction holds the database lock, so the chain never forks. Records
are never updated or deleted by the platform; ``verify`` finds the first one that was.

A transaction bumps the head once: its later appends follow the record before them in memory, and the
head row gets its final ``seq`` and hash just before the commit (a cast appends two records in one).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, insert, select, update
from sqlalchemy.orm import Session

from spell.kit.ids import new_id
from spell.kit.time import utcnow
from spell.models.audit import AuditHead, AuditRecord
from spell.platform.audit.chain import GENESIS, fields_hash, record_hash
from spell.platform.audit.errors import AuditChainBroken
from spell.platform.ledger.repository import insert_ignore
from spell.storage.prepared import Prepared

__all__ = ["ACTIONS", "AuditService"]

ACTIONS = frozenset(
    {
        "key.created", "key.rotated", "key.revoked",
        "publisher_key.added", "publisher_key.revoked",
        "spell.published", "spell.yanked", "spell.suspended", "spell.unsuspended",
        "cast.created", "cast.terminal",
        "budget.changed", "credit.granted", "charge.captured", "charge.refunded",
        "payment.succeeded", "payment.failed", "payment.refunded", "payment.disputed",
        "payment.webhook_malformed",
        "user.banned", "user.unbanned", "tenant.bound",
        "webhook_secret.rotated",
    }
)  # fmt: skip
_BATCH = 1_000
_HEAD = cast(Table, AuditHead.__table__)  # declarative tables are Table objects
_RECORDS = cast(Table, AuditRecord.__table__)
# Built once: the two or three statements of every append cost no construction or cache-key work.
_BUMP_HEAD = Prepared(
    update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + 1).returning(_HEAD.c.seq, _HEAD.c.hash)
)
_SET_HEAD = Prepared(
    update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("seq"), hash=bindparam("hash"))
)
_INSERT_RECORD = Prepared(insert(_RECORDS))
_PENDING = "spell.audit_head"  # Session.info: (seq, hash) of the last record, not yet on the head row
_WRITER: list[bool] = []


def _write_head(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        _SET_HEAD.run(session, {"seq": pending[0], "hash": pending[1]})


def _forget_head(session: Session, _previous: Any = None) -> None:
    session.info.pop(_PENDING, None)


def _install_head_writer() -> None:
    if not _WRITER:
        event.listen(Session, "before_commit", _write_head)
        event.listen(Session, "after_soft_rollback", _forget_head)
        _WRITER.append(True)


class AuditService:
    """The audit log of one unit of work."""

    def __init__(self, session: Session, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.session = session
        self.clock = clock

    def append(
        self,
        action: str,
        *,
        actor_id: str | None,
        tenant_id: str | None = None,
        subject: str | None = None,
        data: dict[str, Any] | None = None,
        flush: bool = True,
    ) -> None:
        """Add one record at the end of the chain (``flush=False`` from inside a flush hook)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        pending = self.session.info.get(_PENDING)
        seq, prev_hash = self._advance_head() if pending is None else (pending[0] + 1, pending[1])
        fields: dict[str, Any] = {
            "seq": seq,
            "id": new_id("aud"),
            "at": self.clock(),
            "action": action,
            "actor_id": actor_id,
            "tenant_id": tenant_id,
            "subject": subject,
            "data": dict(data or {}),
            "prev_hash": prev_hash,
        }
        fields["hash"] = fields_hash(fields)
        # Plain statements built once, not the unit of work: much cheaper than an ORM flush, and safe
        # inside a ``before_flush`` hook.
        _INSERT_RECORD.run(self.session, fields)
        if flush:
            _install_head_writer()
            self.session.info[_PENDING] = (seq, fields["hash"])
        else:  # inside a flush, which may run after the commit hook: the head is written now
            self.session.info.pop(_PENDING, None)
            _SET_HEAD.run(self.session, {"seq": seq, "hash": fields["hash"]})

    def _advance_head(self) -> tuple[int, str]:
        """Take the next ``seq`` and the previous hash; the head row is created on first use."""
        row = _BUMP_HEAD.run(self.session).fetchone()
        if row is None:
            insert_ignore(self.session, _HEAD, {"id": 1, "seq": 0, "hash": GENESIS}, ["id"])
            row = _BUMP_HEAD.run(self.session).fetchone()
        return int(row[0]), str(row[1])

    def list(
        self,
        *,
        action: str | None = None,
        actor_id: str | None = None,
        tenant_id: str | None = None,
        after_seq: int = 0,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """Records in chain order, filtered, from ``after_seq`` on (keyset pagination)."""
        query = select(AuditRecord).where(AuditRecord.seq > after_seq).order_by(AuditRecord.seq).limit(limit)
        if action is not None:
            query = query.where(AuditRecord.action == action)
        if actor_id is not None:
            query = query.where(AuditRecord.actor_id == actor_id)
        if tenant_id is not None:
            query = query.where(AuditRecord.tenant_id == tenant_id)
        return list(self.session.scalars(query))

    def verify(self) -> dict[str, Any]:
        """Walk the chain; raise ``AUDIT_CHAIN_BROKEN`` naming the first edited, missing or moved record."""
        _write_head(self.session)
        expected_seq, prev_hash, checked = 1, GENESIS, 0
        last_seq = 0
        while True:
            batch = list(
                self.session.scalars(
                    select(AuditRecord)
                    .where(AuditRecord.seq > last_seq)
                    .order_by(AuditRecord.seq)
                    .limit(_BATCH)
                )
            )
            if not batch:
                break
            for record in batch:
                _check(record, expected_seq, prev_hash)
                expected_seq, prev_hash, checked = record.seq + 1, record.hash, checked + 1
                last_seq = record.seq
        head = self.session.get(AuditHead, 1)
        head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
        if (head_seq, head_hash) != (checked, prev_hash):
            raise AuditChainBroken(
                f"the audit log ends at record {checked} but its head says {head_seq}: records were deleted",
                details={"seq": checked + 1, "problem": "deleted", "head_seq": head_seq},
            )
        return {"records": checked, "head_hash": prev_hash}


def _check(record: AuditRecord, expected_seq: int, prev_hash: str) -> None:
    where = {"seq": record.seq, "id": record.id, "action": record.action}
    if record.seq != expected_seq:
        raise AuditChainBroken(
            f"audit record {expected_seq} is missing (next is {record.seq})",
            details={**where, "seq": expected_seq, "problem": "deleted", "next_seq": record.seq},
        )
    if record.prev_hash != prev_hash:
        raise AuditChainBroken(
            f"audit record {record.seq} ({record.id}) does not follow the record before it",
            details={**where, "problem": "reordered"},
        )
    if record_hash(record) != record.hash:
        raise AuditChainBroken(
            f"audit record {record.seq} ({record.id}) was edited",
            details={**where, "problem": "edited"},
        )
