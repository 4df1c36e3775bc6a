"""Append to and verify the hash-chained audit log.

An append is held in memory until its transaction commits (``spell.storage.deferred``); then the
transaction's records are chained in one go: the single ``audit_head`` row is bumped by their count,
which hands back the previous hash, and the records are written with the head's new hash (on
PostgreSQL the server hashes them itself, from the canonical bytes around ``prev_hash`` and ``seq``,
so nothing is read back and the writes ride in the commit's round trip). On
PostgreSQL that row lock orders concurrent appends; on SQLite the write transaction holds the
database lock; so the chain never forks. Because the head is taken last, just before the commit,
concurrent transactions wait on it only for their commit, not for all their work. Records are never
updated or deleted by the platform; ``verify`` finds the first one that was.
"""

from __future__ import annotations

from collections.abc import Mapping
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
from spell.platform.audit.schemas import AuditCheck, AuditEntry, AuditPage
from spell.platform.auth.schemas import Principal
from spell.storage import deferred
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
    if _HEADS.chains_in_database(session, len(records)):
        parts = [hash_parts({**fields, "seq": 0, "prev_hash": GENESIS}) for fields in records]
        chained = [
            {**fields, "pre": part[0], "mid": part[1], "post": part[2]}
            for fields, part in zip(records, parts, strict=True)
            if part is not None
        ]
        if len(chained) == len(records):
            _HEADS.append_chained(session, chained)
            return
    seq, prev_hash = _HEADS.advance_head(session, len(records))
    for offset, fields in enumerate(records, start=seq - len(records) + 1):
        fields["seq"], fields["prev_hash"] = offset, prev_hash
        fields["hash"] = prev_hash = fields_hash(fields)
    _HEADS.append(session, records, prev_hash)


# The head is the last row a transaction locks: after counters and everything else it wrote.
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
        """Records in chain order, filtered, from ``after_seq`` on (keyset pagination)."""
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
        """Walk the chain; raise ``AUDIT_CHAIN_BROKEN`` naming the first edited, missing or moved record.

        After a retention fold the walk starts at the newest checkpoint (``checkpoint.py``): its
        signature, and the records kept below it, are checked first."""
        session = uow.session
        deferred.run_deferred(session)
        expected_seq, prev_hash, checked = 1, GENESIS, 0
        lock_folds(session, shared=True)
        # The head first: on PostgreSQL each statement sees the latest commits, so a record appended
        # while the walk runs must not count as one the head forgot. A record and the head move in
        # one transaction, so every record up to this head is already visible.
        head_seq, head_hash = self.repo.head(session)
        checkpoint = self.repo.latest_checkpoint(session)
        if checkpoint is not None:
            checked = self._verify_checkpoint(session, checkpoint)
            expected_seq, prev_hash = checkpoint.last_seq + 1, checkpoint.head_hash
        while batch := self.repo.records(
            session, after_seq=expected_seq - 1, limit=_BATCH, up_to_seq=head_seq
        ):
            for record in batch:
                _check(record, expected_seq, prev_hash)
                expected_seq, prev_hash, checked = record.seq + 1, record.hash, checked + 1
        if (head_seq, head_hash) != (expected_seq - 1, prev_hash):
            raise AuditChainBroken(
                f"the audit log ends at record {expected_seq - 1} but its head says {head_seq}:"
                " records were deleted",
                details={"seq": expected_seq, "problem": "deleted", "head_seq": head_seq},
            )
        return AuditCheck(records=checked, head_hash=prev_hash)

    def _verify_checkpoint(self, session: Session, checkpoint: AuditCheckpoint) -> int:
        """Check the checkpoint's signature and the records it keeps; their count."""
        where = {"seq": checkpoint.last_seq, "checkpoint": checkpoint.number}
        if self.checkpoint_key is None or not self.checkpoint_key.is_valid(checkpoint):
            raise AuditChainBroken(
                f"audit checkpoint {checkpoint.number} is not signed by this deployment's key",
                details={**where, "problem": "checkpoint_signature"},
            )
        digest, kept, after = EMPTY_DIGEST, 0, 0
        while batch := self.repo.records(
            session, after_seq=after, limit=_BATCH, up_to_seq=checkpoint.last_seq
        ):
            for record in batch:
                if record_hash(record) != record.hash:
                    raise AuditChainBroken(
                        f"audit record {record.seq} ({record.id}) was edited",
                        details={
                            "seq": record.seq,
                            "id": record.id,
                            "action": record.action,
                            "problem": "edited",
                        },
                    )
                digest, kept, after = extend_digest(digest, record.seq, record.hash), kept + 1, record.seq
        if (kept, digest) != (checkpoint.kept, checkpoint.kept_digest):
            raise AuditChainBroken(
                f"the records kept below audit checkpoint {checkpoint.number} are not the ones it names",
                details={
                    **where,
                    "problem": "checkpoint_mismatch",
                    "kept": kept,
                    "expected": checkpoint.kept,
                },
            )
        return kept


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
