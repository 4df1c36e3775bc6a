"""Wire shapes of the audit log: records as the API lists them, and the result of a chain check."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from spell.kit.time import to_rfc3339
from spell.models.audit import AuditRecord

__all__ = ["AuditCheck", "AuditEntry", "AuditPage"]


class AuditEntry(BaseModel):
    """One record of the hash chain."""

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
            prev_hash=record.prev_hash,
            hash=record.hash,
        )


class AuditPage(BaseModel):
    """A page of audit records in chain order."""

    items: list[AuditEntry]
    next_cursor: str | None = Field(default=None, description="pass as ``cursor`` for the next page")


class AuditCheck(BaseModel):
    """A whole chain: how many records it holds and the hash of the last one."""

    records: int
    head_hash: str
