"""The hash of an audit record: SHA-256 over the RFC 8785 form of every field and the previous hash.

The ``seq`` a hash covers is the record's number in its lane (``lane_seq``); the lane itself is hashed
too, except lane 0's, so the records of the single chain that came before lanes keep their hashes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spell.kit.canonical_json import canonical_bytes, canonical_sha256
from spell.kit.time import to_rfc3339
from spell.models.audit import AuditRecord

__all__ = ["GENESIS", "HASHED_FIELDS", "fields_hash", "hash_parts", "record_hash"]

GENESIS = "sha256:" + "0" * 64  # the "previous hash" of the first record
HASHED_FIELDS = ("seq", "id", "at", "action", "actor_id", "tenant_id", "subject", "data", "prev_hash")


def record_hash(record: AuditRecord) -> str:
    """The hash a record must carry, given its fields and ``prev_hash``."""
    fields = {name: getattr(record, name) for name in HASHED_FIELDS}
    fields["seq"], fields["lane"] = record.lane_seq, record.lane
    return fields_hash(fields)


def _body(fields: Mapping[str, Any]) -> dict[str, Any]:
    body = {name: fields[name] for name in HASHED_FIELDS}
    body["at"] = to_rfc3339(body["at"])
    if fields.get("lane"):
        body["lane"] = fields["lane"]
    return body


def fields_hash(fields: Mapping[str, Any]) -> str:
    """``record_hash`` of a record not built as an object yet: ``HASHED_FIELDS`` from ``fields``, whose
    ``seq`` is the number in the lane, and ``lane`` (absent or 0 for lane 0)."""
    return canonical_sha256(_body(fields))


# Stand-ins for the two fields only the database knows when it chains a record (``hash_parts``).
_PREV_MARK = '"~spell-audit-prev~"'
_SEQ_MARK = '"~spell-audit-seq~"'


def hash_parts(fields: Mapping[str, Any]) -> tuple[bytes, bytes, bytes] | None:
    """The canonical bytes ``fields_hash`` hashes, cut around ``prev_hash`` and ``seq``: ``pre``, ``mid``
    and ``post`` with ``pre + prev_hash + mid + str(seq) + post`` the exact bytes, so the database can
    chain the record without a round trip to read the head first. Keys are sorted, and ``prev_hash``
    and ``seq`` are neighbours. None when the record's own text holds a stand-in (hash it here)."""
    body = _body(fields)
    body["prev_hash"], body["seq"] = _PREV_MARK[1:-1], _SEQ_MARK[1:-1]
    text = canonical_bytes(body)
    prev_mark, seq_mark = _PREV_MARK.encode(), _SEQ_MARK.encode()
    if text.count(prev_mark) != 1 or text.count(seq_mark) != 1:
        return None
    pre, rest = text.split(prev_mark)
    mid, post = rest.split(seq_mark)
    # The hash is a JSON string (quoted), the seq a number (bare).
    return pre + b'"', b'"' + mid, post
