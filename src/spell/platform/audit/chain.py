"""The hash of an audit record: SHA-256 over the RFC 8785 form of every field and the previous hash."""

from __future__ import annotations

from typing import Any

from spell.kit.canonical_json import canonical_sha256
from spell.kit.time import to_rfc3339
from spell.models.audit import AuditRecord

__all__ = ["GENESIS", "record_hash"]

GENESIS = "sha256:" + "0" * 64  # the "previous hash" of the first record


def record_hash(record: AuditRecord) -> str:
    """The hash a record must carry, given its fields and ``prev_hash``."""
    body: dict[str, Any] = {
        "seq": record.seq,
        "id": record.id,
        "at": to_rfc3339(record.at),
        "action": record.action,
        "actor_id": record.actor_id,
        "tenant_id": record.tenant_id,
        "subject": record.subject,
        "data": record.data,
        "prev_hash": record.prev_hash,
    }
    return canonical_sha256(body)
