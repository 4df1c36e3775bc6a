"""The trust store: which publisher keys this machine trusts, one JSON file per publisher.

Files live at ``<root>/<base64url(publisher)>.json`` (``root`` is ``$SPELL_HOME/trust/publishers``)
in spell-runtime's format, so either tool reads the other's store. A key is *active*, *revoked*
(kept, with when and why, and refused by verification) or *removed* (gone from the file). A file
that does not follow the format is an ``InvalidTrustFile`` naming the file, never silently ignored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from spell.bundle.collation import sort_paths
from spell.errors import InvalidTrustFile, KeyNotFound, PublisherNotFound
from spell.kit.encoding import b64url_decode, storage_key
from spell.kit.time import parse_rfc3339, to_rfc3339, utcnow
from spell.signing.keys import check_token, public_key_from_b64url

__all__ = ["PublisherTrust", "TrustSource", "TrustStore", "TrustedKey"]

_B64URL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class TrustedKey:
    """One trusted public key of a publisher."""

    key_id: str
    public_key: str
    revoked: bool = False
    revoked_at: str | None = None
    revoke_reason: str | None = None

    @property
    def status(self) -> Literal["active", "revoked"]:
        """``revoked`` or ``active``."""
        return "revoked" if self.revoked else "active"

    @property
    def fingerprint(self) -> str:
        """Short SHA-256 fingerprint of the key's DER bytes: first 12 and last 8 hex digits."""
        full = hashlib.sha256(b64url_decode(self.public_key)).hexdigest()
        return f"{full[:12]}...{full[-8:]}"

    def to_dict(self) -> dict[str, Any]:
        """The key's JSON object, in the trust file's key order."""
        out: dict[str, Any] = {
            "key_id": self.key_id,
            "algorithm": "ed25519",
            "public_key": self.public_key,
            "revoked": self.revoked,
        }
        if self.revoked and self.revoked_at:
            out["revoked_at"] = self.revoked_at
        if self.revoked and self.revoke_reason:
            out["revoke_reason"] = self.revoke_reason
        return out


@dataclass(frozen=True)
class PublisherTrust:
    """All trusted keys of one publisher, ordered by key id."""

    publisher: str
    keys: tuple[TrustedKey, ...]

    def find(self, key_id: str) -> TrustedKey | None:
        """The key with that id, if trusted (active or revoked)."""
        return next((k for k in self.keys if k.key_id == key_id), None)

    def to_dict(self) -> dict[str, Any]:
        """The trust file's JSON object."""
        return {"version": "v1", "publisher": self.publisher, "keys": [k.to_dict() for k in self.keys]}


class TrustSource(Protocol):
    """Where the verifier finds a publisher's trusted keys: this machine's ``TrustStore``, or a key set
    a server builds from the publisher keys registered with it."""

    def load(self, publisher: str) -> PublisherTrust | None:
        """The publisher's trusted keys, or ``None`` when none are known."""


class TrustStore:
    """Read and change the trust files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, publisher: str) -> Path:
        """The trust file of ``publisher``."""
        return self.root / f"{storage_key(publisher)}.json"

    def load(self, publisher: str) -> PublisherTrust | None:
        """The publisher's trust, or ``None`` when there is no file for it."""
        path = self.path_for(publisher)
        if not path.exists():
            return None
        return _parse(_read(path), path, expected_publisher=publisher)

    def get(self, publisher: str) -> PublisherTrust:
        """The publisher's trust; ``PublisherNotFound`` when there is none."""
        trust = self.load(publisher)
        if trust is None:
            raise PublisherNotFound(
                f"trusted publisher not found: {publisher}", details={"publisher": publisher}
            )
        return trust

    def list_publishers(self) -> list[PublisherTrust]:
        """Every trusted publisher, ordered like spell-runtime orders them."""
        if not self.root.is_dir():
            return []
        found: dict[str, PublisherTrust] = {}
        for path in self.root.glob("*.json"):
            trust = _parse(_read(path), path, expected_publisher=None)
            if path.stem != storage_key(trust.publisher):
                raise _invalid(path, f"trust file name does not match its publisher '{trust.publisher}'")
            found[trust.publisher] = trust
        return [found[name] for name in sort_paths(found)]

    def add_key(self, publisher: str, public_key: str, *, key_id: str = "default") -> TrustedKey:
        """Trust ``public_key`` (base64url SPKI DER) as ``key_id`` of ``publisher``, replacing any."""
        check_token(publisher, "publisher")
        check_token(key_id, "key id")
        text = public_key.strip()
        public_key_from_b64url(text)
        current = self.load(publisher)
        keys = [k for k in (current.keys if current else ()) if k.key_id != key_id]
        key = TrustedKey(key_id=key_id, public_key=text)
        self._write(publisher, [*keys, key])
        return key

    def revoke_key(
        self, publisher: str, key_id: str, *, reason: str | None = None, now: datetime | None = None
    ) -> TrustedKey:
        """Mark a key revoked (kept in the file, refused by verification)."""
        moment = to_rfc3339(now or utcnow())
        note = (reason or "").strip() or None
        return self._update(
            publisher, key_id, lambda k: replace(k, revoked=True, revoked_at=moment, revoke_reason=note)
        )

    def restore_key(self, publisher: str, key_id: str) -> TrustedKey:
        """Make a revoked key active again."""
        return self._update(
            publisher, key_id, lambda k: replace(k, revoked=False, revoked_at=None, revoke_reason=None)
        )

    def remove_key(self, publisher: str, key_id: str) -> TrustedKey:
        """Forget one key; the publisher's file goes when its last key does."""
        trust = self.get(publisher)
        key = _find(trust, key_id)
        rest = [k for k in trust.keys if k.key_id != key_id]
        if rest:
            self._write(publisher, rest)
        else:
            self.path_for(publisher).unlink()
        return key

    def remove(self, publisher: str) -> None:
        """Forget a publisher and all its keys."""
        self.get(publisher)
        self.path_for(publisher).unlink()

    def _update(self, publisher: str, key_id: str, change: Callable[[TrustedKey], TrustedKey]) -> TrustedKey:
        trust = self.get(publisher)
        updated = change(_find(trust, key_id))
        self._write(publisher, [updated if k.key_id == key_id else k for k in trust.keys])
        return updated

    def _write(self, publisher: str, keys: list[TrustedKey]) -> None:
        by_id = {k.key_id: k for k in keys}
        record = PublisherTrust(publisher, tuple(by_id[i] for i in sort_paths(by_id)))
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path_for(publisher)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(record.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _invalid(path, f"cannot read trust file: {exc}") from None


def _find(trust: PublisherTrust, key_id: str) -> TrustedKey:
    key = trust.find(key_id)
    if key is None:
        raise KeyNotFound(
            f"trusted key not found: publisher={trust.publisher} key_id={key_id}",
            details={"publisher": trust.publisher, "key_id": key_id},
        )
    return key


def _parse(text: str, path: Path, *, expected_publisher: str | None) -> PublisherTrust:
    """Check a trust file the way spell-runtime does, naming the file in every error."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        raise _invalid(path, "failed to parse trust file") from None
    if not isinstance(obj, dict):
        raise _invalid(path, "trust file must be a JSON object")
    version = _required(obj, "version", path)
    if version != "v1":
        raise _invalid(path, f"unsupported trust file version: {version}")
    publisher = _required(obj, "publisher", path)
    if expected_publisher is not None and publisher != expected_publisher:
        raise _invalid(
            path, f"trust file publisher mismatch: expected '{expected_publisher}', got '{publisher}'"
        )
    raw_keys = obj.get("keys")
    if not isinstance(raw_keys, list) or not raw_keys:
        raise _invalid(path, "trust file keys must be a non-empty array")
    keys = [_parse_key(entry, index, path) for index, entry in enumerate(raw_keys)]
    seen: set[str] = set()
    for key in keys:
        if key.key_id in seen:
            raise _invalid(path, f"duplicate trust key_id: {key.key_id}")
        seen.add(key.key_id)
    return PublisherTrust(publisher, tuple(keys))


def _parse_key(entry: Any, index: int, path: Path) -> TrustedKey:
    if not isinstance(entry, dict):
        raise _invalid(path, f"trust file keys[{index}] must be an object")
    key_id = _required(entry, "key_id", path)
    algorithm = _required(entry, "algorithm", path)
    if algorithm != "ed25519":
        raise _invalid(path, f"unsupported trust key algorithm: {algorithm}")
    public_key = _required(entry, "public_key", path)
    if not set(public_key) <= _B64URL_CHARS:
        raise _invalid(path, "trust key public_key must be base64url")
    revoked = entry.get("revoked", False)
    if not isinstance(revoked, bool):
        raise _invalid(path, "trust key revoked must be a boolean")
    if not revoked:
        return TrustedKey(key_id=key_id, public_key=public_key)
    revoked_at = _optional(entry, "revoked_at")
    if revoked_at is not None:
        try:
            parse_rfc3339(revoked_at)
        except ValueError:
            raise _invalid(path, f"trust key revoked_at must be an ISO timestamp: {key_id}") from None
    return TrustedKey(key_id, public_key, True, revoked_at, _optional(entry, "revoke_reason"))


def _required(obj: dict[str, Any], key: str, path: Path) -> str:
    value = _optional(obj, key)
    if value is None:
        raise _invalid(path, f"missing '{key}' string")
    return value


def _optional(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def _invalid(path: Path, problem: str) -> InvalidTrustFile:
    return InvalidTrustFile(
        f"{path}: {problem}",
        details={"file": str(path), "problem": problem},
        hint="fix the file by hand, or delete it and run `spell trust add` again",
    )
