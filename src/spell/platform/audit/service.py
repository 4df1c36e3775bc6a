"""Append to and verify the hash-chained audit log.

The log is a set of independent hash chains, "lanes" (``repository.lane_of``): a transaction's records
go to its connection's lane, each record linking to the one before it there and numbered in it
(``lane_seq``, what its hash covers as ``seq``). An append is held in memory until its transaction
commits (``spell.storage.deferred``); then the transaction's records are chained in one go: the lane's
``audit_head`` row is bumped by their count, which hands back the previous hash, and the records are
written with the head's new hash (on PostgreSQL the server hashes them itself, from the canonical bytes
around ``prev_hash`` and ``seq``, so nothing is read back and the writes ride in the commit's round
trip). On PostgreSQL that row lock orders the appends of one lane, and concurrent transactions, holding
other connections, append to other lanes without waiting; on SQLite the write transaction holds the
database lock, and every append goes to lane 0. So no lane ever forks. Records are never updated or
deleted by the platform; ``verify`` walks every lane and finds the first record that was.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from spell.errors import PermissionDenied
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.models.audit import AuditRecord
from spell.models.audit_checkpoint import AuditCheckpoint
from spell.platform.audit.chain import GENESIS, fields_hash, hash_parts, record_hash
from spell.platform.audit.checkpoint import EMPTY_DIGEST, CheckpointKey, extend_digest, lock_folds
from spell.platform.audit.errors import AuditChainBroken
from spell.platform.audit.repository import AuditRepository
from spell.platform.audit.schemas import AuditCheck, AuditEntry, AuditLaneCheck, AuditPage
from spell.platform.auth.schemas import Principal
from spell.storage import deferred
from spell.storage.keyset import keyset_pages
from spell.storage.session import UnitOfWork

__all__ = ["ACTIONS", "AuditService"]

ACTIONS = frozenset(
    {
        "key.created", "key.rotated", "key.revoked",
        "publisher_key.added", "publisher_key.revoked",
        "sigstore_identity.added", "sigstore_identity.revoked", "publisher.sigstore_required",
        "spell.published", "spell.yanked", "spell.suspended", "spell.unsuspended",
        "cast.created", "cast.terminal",
        "budget.changed", "credit.granted", "charge.captured", "charge.refunded",
        "revenue_share.changed", "refund.created", "payout.created", "payout.account_set",
        "payment.succeeded", "payment.failed", "payment.refunded", "payment.disputed",
        "payment.webhook_malformed",
        "user.banned", "user.unbanned", "tenant.bound",
        "webhook_secret.rotated",
        "webhook_endpoint.added", "webhook_endpoint.removed", "webhook_endpoint.rotated",
        "advisories.imported", "supply.flagged", "supply.delisted", "supply.cleared",
        "publisher.webhook_changed",
        "legal_hold.set", "legal_hold.released", "retention.ran",
        "abuse.suspended", "abuse.reinstated",
        "privacy.exported", "privacy.rectified", "privacy.restricted", "privacy.unrestricted",
        "privacy.do_not_sell", "privacy.transfer_consented", "privacy.transfer_withdrawn",
        "privacy.erased", "privacy.purged",
    }
)  # fmt: skip
_BATCH = 1_000
_KIND = "audit"
_HEADS = AuditRepository()  # the commit hook is process-wide; the repository holds no state


def _chain(session: Session, records: list[dict[str, Any]]) -> None:
    lane = _HEADS.lane_of(session)
    if _HEADS.chains_in_database(session, len(records)):
        parts = [hash_parts({**fields, "seq": 0, "prev_hash": GENESIS, "lane": lane}) for fields in records]
        chained = [
            {**fields, "pre": part[0], "mid": part[1], "post": part[2]}
            for fields, part in zip(records, parts, strict=True)
            if part is not None
        ]
        if len(chained) == len(records):
            _HEADS.append_chained(session, lane, chained)
            return
    last, prev_hash = _HEADS.advance_head(session, lane, len(records))
    rows = []
    for number, fields in enumerate(records, start=last - len(records) + 1):
        record_hash = fields_hash({**fields, "seq": number, "prev_hash": prev_hash, "lane": lane})
        rows.append({**fields, "lane": lane, "lane_seq": number, "prev_hash": prev_hash, "hash": record_hash})
        prev_hash = record_hash
    _HEADS.append(session, lane, rows, prev_hash)


# The lane's head is the last row a transaction locks: after counters and everything else it wrote.
deferred.register(_KIND, _chain, order=1_000)


class AuditService:
    """The audit log; stateless, every method works in the unit of work it is given."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        repository: AuditRepository | None = None,
        checkpoint_key: CheckpointKey | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.repo = repository or AuditRepository()
        # What retention's checkpoints are verified with; without it a folded log does not verify.
        self.checkpoint_key = checkpoint_key

    def append(
        self,
        uow: UnitOfWork,
        action: str,
        *,
        actor_id: str | None,
        tenant_id: str | None = None,
        subject: str | None = None,
        data: dict[str, Any] | None = None,
        personal: dict[str, Any] | None = None,
    ) -> None:
        """Add one record at the end of the chain when the transaction commits; ``personal`` (free
        text about a person) is kept beside the record, outside its hash."""
        self._defer(uow.session, action, actor_id, tenant_id, subject, data, personal)

    def append_in_flush(self, session: Session, action: str, fields: Mapping[str, Any]) -> None:
        """``append`` from inside a ``before_flush`` hook. ``fields`` holds ``actor_id`` and optionally
        ``tenant_id``, ``subject``, ``data`` and ``personal``."""
        self._defer(
            session,
            action,
            fields["actor_id"],
            fields.get("tenant_id"),
            fields.get("subject"),
            fields.get("data"),
            fields.get("personal"),
        )

    def _defer(
        self,
        session: Session,
        action: str,
        actor_id: str | None,
        tenant_id: str | None,
        subject: str | None,
        data: dict[str, Any] | None,
        personal: dict[str, Any] | None = None,
    ) -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        fields: dict[str, Any] = {
            "id": new_id("aud"),
            "at": self.clock.now(),
            "action": action,
            "actor_id": actor_id,
            "tenant_id": tenant_id,
            "subject": subject,
            "data": dict(data or {}),
            "personal": dict(personal) if personal else None,
        }
        deferred.defer(session, _KIND, fields)

    def list(
        self,
        uow: UnitOfWork,
        *,
        action: str | None = None,
        actor_id: str | None = None,
        tenant_id: str | None = None,
        after_seq: int = 0,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """Records of every lane in the order they were appended, filtered, from ``after_seq`` on
        (keyset pagination)."""
        deferred.run_deferred(uow.session)
        return self.repo.records(
            uow.session,
            after_seq=after_seq,
            limit=limit,
            action=action,
            actor_id=actor_id,
            tenant_id=tenant_id,
        )

    def page(
        self,
        uow: UnitOfWork,
        principal: Principal,
        *,
        action: str | None = None,
        actor_id: str | None = None,
        after_seq: int = 0,
        limit: int = 100,
    ) -> AuditPage:
        """What ``principal`` may read of the log: admins every tenant, auditors and operators their own."""
        principal.require("audit:read")
        if not principal.has_role("auditor", "operator", "admin"):
            raise PermissionDenied("reading the audit log needs the auditor, operator or admin role")
        tenant = None if principal.is_admin else principal.tenant_id
        records = self.list(
            uow, action=action, actor_id=actor_id, tenant_id=tenant, after_seq=after_seq, limit=limit
        )
        return AuditPage(
            items=[AuditEntry.from_row(r) for r in records],
            next_cursor=str(records[-1].seq) if len(records) == limit else None,
        )

    def verify(self, uow: UnitOfWork) -> AuditCheck:
        """Walk every lane; raise ``AUDIT_CHAIN_BROKEN`` naming the first edited, missing or moved record
        (its ``lane`` and ``lane_seq``; ``seq`` too while the record is there).

        After a retention fold a lane's walk starts at its newest checkpoint (``checkpoint.py``): its
        signature, and the records kept below it, are checked first."""
        session = uow.session
        deferred.run_deferred(session)
        lock_folds(session, shared=True)
        # The heads first: on PostgreSQL each statement sees the latest commits, so a record appended
        # while the walk runs must not count as one a head forgot. A record and its head move in one
        # transaction, so every record up to a head read here is already visible.
        heads = self.repo.heads(session)
        checkpoints = self.repo.latest_checkpoints(session)
        headless = [lane for lane in self.repo.record_lanes(session) if lane not in heads]
        if headless:
            # A lane's first append creates its head with its records: read again, it is there now.
            heads = self.repo.heads(session)
        lanes: list[AuditLaneCheck] = []
        for lane in sorted({*heads, *checkpoints, *headless}):
            if lane not in heads:
                raise AuditChainBroken(
                    f"audit lane {lane} has records but no head: its head row was deleted",
                    details={"lane": lane, "problem": "deleted", "head_seq": None},
                )
            lanes.append(self._verify_lane(session, lane, heads[lane], checkpoints.get(lane)))
        lane_zero = next((check.head_hash for check in lanes if check.lane == 0), GENESIS)
        return AuditCheck(records=sum(check.records for check in lanes), head_hash=lane_zero, lanes=lanes)

    def _verify_lane(
        self, session: Session, lane: int, head: tuple[int, str], checkpoint: AuditCheckpoint | None
    ) -> AuditLaneCheck:
        head_seq, head_hash = head
        expected, prev_hash, checked = 1, GENESIS, 0
        if checkpoint is not None:
            checked = self._verify_checkpoint(session, checkpoint)
            expected, prev_hash = checkpoint.last_seq + 1, checkpoint.head_hash
        for batch in self._lane_pages(session, lane, after=expected - 1, up_to=head_seq):
            for record in batch:
                _check(record, expected, prev_hash)
                expected, prev_hash, checked = record.lane_seq + 1, record.hash, checked + 1
        if (head_seq, head_hash) != (expected - 1, prev_hash):
            raise AuditChainBroken(
                f"audit lane {lane} ends at record {expected - 1} but its head says {head_seq}:"
                " records were deleted",
                details={"lane": lane, "lane_seq": expected, "problem": "deleted", "head_seq": head_seq},
            )
        return AuditLaneCheck(lane=lane, records=checked, head_seq=head_seq, head_hash=prev_hash)

    def _verify_checkpoint(self, session: Session, checkpoint: AuditCheckpoint) -> int:
        """Check the checkpoint's signature and the records of its lane it keeps; their count."""
        lane = checkpoint.lane
        where = {"lane": lane, "lane_seq": checkpoint.last_seq, "checkpoint": checkpoint.number}
        if self.checkpoint_key is None or not self.checkpoint_key.is_valid(checkpoint):
            raise AuditChainBroken(
                f"audit checkpoint {checkpoint.number} of lane {lane} is not signed by this deployment's key",
                details={**where, "problem": "checkpoint_signature"},
            )
        digest, kept = EMPTY_DIGEST, 0
        for batch in self._lane_pages(session, lane, after=0, up_to=checkpoint.last_seq):
            for record in batch:
                if record_hash(record) != record.hash:
                    raise AuditChainBroken(
                        f"audit record {record.lane_seq} of lane {lane} ({record.id}) was edited",
                        details={**_named(record), "problem": "edited"},
                    )
                digest = extend_digest(digest, record.lane_seq, record.hash)
                kept += 1
        if (kept, digest) != (checkpoint.kept, checkpoint.kept_digest):
            raise AuditChainBroken(
                f"the records kept below audit checkpoint {checkpoint.number} of lane {lane} are not the"
                " ones it names",
                details={
                    **where,
                    "problem": "checkpoint_mismatch",
                    "kept": kept,
                    "expected": checkpoint.kept,
                },
            )
        return kept

    def _lane_pages(
        self, session: Session, lane: int, *, after: int, up_to: int
    ) -> Iterator[Sequence[AuditRecord]]:
        """``lane``'s records after ``after`` up to ``up_to``, in chain order, ``_BATCH`` at a time."""
        return keyset_pages(
            lambda seq: self.repo.lane_records(session, lane, after=seq, limit=_BATCH, up_to=up_to),
            after,
            lambda record: record.lane_seq,
        )


def _named(record: AuditRecord) -> dict[str, Any]:
    return {
        "lane": record.lane,
        "lane_seq": record.lane_seq,
        "seq": record.seq,
        "id": record.id,
        "action": record.action,
    }


def _check(record: AuditRecord, expected: int, prev_hash: str) -> None:
    where = _named(record)
    lane = record.lane
    if record.lane_seq != expected:
        raise AuditChainBroken(
            f"audit record {expected} of lane {lane} is missing (next is {record.lane_seq})",
            details={
                "lane": lane,
                "lane_seq": expected,
                "problem": "deleted",
                "next_lane_seq": record.lane_seq,
                "next_seq": record.seq,
            },
        )
    if record.prev_hash != prev_hash:
        raise AuditChainBroken(
            f"audit record {record.lane_seq} of lane {lane} ({record.id}) does not follow the record"
            " before it",
            details={**where, "problem": "reordered"},
        )
    if record_hash(record) != record.hash:
        raise AuditChainBroken(
            f"audit record {record.lane_seq} of lane {lane} ({record.id}) was edited",
            details={**where, "problem": "edited"},
        )
