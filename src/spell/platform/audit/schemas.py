"""Wire shapes of the audit log: records as the API lists them, and the result of a chain check."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from spell.kit.time import to_rfc3339
from spell.models.audit import AuditRecord

__all__ = ["AuditCheck", "AuditEntry", "AuditLaneCheck", "AuditPage"]


class AuditEntry(BaseModel):
    """One record of the hash chain: ``seq`` orders the whole log, ``lane`` and ``lane_seq`` place it in
    its chain (the hash covers ``lane_seq`` as ``seq``, and ``lane`` unless it is 0)."""

    seq: int
    id: str
    at: str
    action: str
    actor_id: str | None
    tenant_id: str | None
    subject: str | None
    data: dict[str, Any]
    personal: dict[str, Any] | None = Field(
        default=None, description="free text about a person, outside the hash; cleared when they are erased"
    )
    lane: int = Field(default=0, description="the hash chain the record belongs to")
    lane_seq: int = Field(description="the record's number in its lane, what its hash covers as seq")
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, record: AuditRecord) -> AuditEntry:
        """The record as stored, its time as RFC 3339 text."""
        return cls(
            seq=record.seq,
            id=record.id,
            at=to_rfc3339(record.at),
            action=record.action,
            actor_id=record.actor_id,
            tenant_id=record.tenant_id,
            subject=record.subject,
            data=record.data,
            personal=record.personal,
            lane=record.lane,
            lane_seq=record.lane_seq,
            prev_hash=record.prev_hash,
            hash=record.hash,
        )


class AuditPage(BaseModel):
    """A page of audit records in chain order."""

    items: list[AuditEntry]
    next_cursor: str | None = Field(default=None, description="pass as ``cursor`` for the next page")


class AuditLaneCheck(BaseModel):
    """One lane of the log, checked: its records and the number and hash of its last one."""

    lane: int
    records: int
    head_seq: int
    head_hash: str


class AuditCheck(BaseModel):
    """The whole log, checked: how many records it holds, lane 0's last hash, and every lane's."""

    records: int
    head_hash: str = Field(description="the hash lane 0 ends with (the only lane on SQLite)")
    lanes: list[AuditLaneCheck] = Field(default_factory=list)
