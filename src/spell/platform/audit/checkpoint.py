"""Signed checkpoints of a folded audit log, and how ``verify`` checks the records they cover.

Retention deletes old records but must leave chains that still prove nothing was edited. Each lane is
folded on its own: its checkpoint holds the hash of the lane's last folded record (the lane's head at
that point): the first record after it must link to that hash. Records kept below it (money movements,
legally held ones) no longer link to their deleted neighbours; each still carries its own hash, and the
checkpoint holds a running digest of their ``(lane_seq, hash)`` pairs, so an edited, removed or added
one is found. The checkpoint is signed with an
Ed25519 key derived from the server secret: every node of a deployment derives the same key, and the
operator can check a checkpoint against the public key ``GET /v1/admin/retention`` shows.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import text
from sqlalchemy.orm import Session

from spell.kit.canonical_json import canonical_bytes
from spell.kit.encoding import b64url_decode, b64url_encode
from spell.kit.time import to_rfc3339, to_rfc3339_or_none
from spell.models.audit_checkpoint import AuditCheckpoint
from spell.signing.keys import public_key_to_b64url

__all__ = ["EMPTY_DIGEST", "CheckpointKey", "extend_digest", "lock_folds", "signed_body"]

EMPTY_DIGEST = "sha256:" + hashlib.sha256(b"spell-audit-kept-v1").hexdigest()
_DERIVE = b"spell audit checkpoint key v1"
_FOLD_LOCK = 0x5E11_7E7E  # pg advisory lock key: folds hold it exclusively, verifications shared


def lock_folds(session: Session, *, shared: bool) -> None:
    """On PostgreSQL, until the transaction ends: a fold (not ``shared``) waits for other folds and for
    verifications; a verification (``shared``) waits for a fold to commit, and then no fold deletes
    records under its walk. SQLite's writes are serial already."""
    if session.get_bind().dialect.name == "postgresql":
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        session.execute(text(f"SELECT {function}(:key)"), {"key": _FOLD_LOCK})


def extend_digest(digest: str, seq: int, record_hash: str) -> str:
    """The running digest of kept records after one more (a lane's records, taken in ``lane_seq``
    order; ``seq`` is that number)."""
    return "sha256:" + hashlib.sha256(f"{digest}\0{seq}\0{record_hash}".encode()).hexdigest()


def signed_body(row: AuditCheckpoint) -> bytes:
    """The bytes a checkpoint's signature covers: every field but the signature, RFC 8785 (the lane
    only when it is not 0: checkpoints from before lanes existed keep their signatures)."""
    body: dict[str, Any] = {
        "number": row.number,
        "last_seq": row.last_seq,
        "head_hash": row.head_hash,
        "folded": row.folded,
        "kept": row.kept,
        "kept_digest": row.kept_digest,
        "first_at": to_rfc3339_or_none(row.first_at),
        "last_at": to_rfc3339_or_none(row.last_at),
        "created_at": to_rfc3339(row.created_at),
        "key_id": row.key_id,
    }
    if row.lane:
        body["lane"] = row.lane
    return canonical_bytes(body)


@dataclass(frozen=True)
class CheckpointKey:
    """The deployment's checkpoint key pair; ``key_id`` is the public key (SPKI, base64url)."""

    private: Ed25519PrivateKey
    public: Ed25519PublicKey

    @classmethod
    def from_secret(cls, secret: str) -> CheckpointKey:
        """The key every node sharing ``secret`` derives alike."""
        seed = hmac.new(secret.encode("utf-8"), _DERIVE, hashlib.sha256).digest()
        private = Ed25519PrivateKey.from_private_bytes(seed)
        return cls(private, private.public_key())

    @property
    def key_id(self) -> str:
        """The public key as base64url SPKI DER: what an operator verifies checkpoints with."""
        return public_key_to_b64url(self.public)

    def sign(self, row: AuditCheckpoint) -> None:
        """Set ``row.key_id`` and ``row.signature``."""
        row.key_id = self.key_id
        row.signature = b64url_encode(self.private.sign(signed_body(row)))

    def is_valid(self, row: AuditCheckpoint) -> bool:
        """Whether ``row`` was signed by this key and not changed since."""
        if row.key_id != self.key_id:
            return False
        try:
            self.public.verify(b64url_decode(row.signature), signed_body(row))
        except (InvalidSignature, ValueError):
            return False
        return True
