"""The hash of an audit record: SHA-256 over the RFC 8785 form of every field and the previous hash."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spell.kit.canonical_json import canonical_sha256
from spell.kit.time import to_rfc3339
from spell.models.audit import AuditRecord

__all__ = ["GENESIS", "HASHED_FIELDS", "fields_hash", "record_hash"]

GENESIS = "sha256:" + "0" * 64  # the "previous hash" of the first record
HASHED_FIELDS = ("seq", "id", "at", "action", "actor_id", "tenant_id", "subject", "data", "prev_hash")


def record_hash(record: AuditRecord) -> str:
    """The hash a record must carry, given its fields and ``prev_hash``."""
    return fields_hash({name: getattr(record, name) for name in HASHED_FIELDS})


def fields_hash(fields: Mapping[str, Any]) -> str:
    """``record_hash`` of a record not built as an object yet (``HASHED_FIELDS`` from ``fields``)."""
    body = {name: fields[name] for name in HASHED_FIELDS}
    body["at"] = to_rfc3339(body["at"])
    return canonical_sha256(body)
