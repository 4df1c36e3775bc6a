"""The licence store: verified entitlement tokens under ``$SPELL_HOME/licenses/<base64url(name)>.json``.

A record (v2, as spell-runtime writes it) keeps the token, its segments, its claims, timestamps and
a revocation flag. ``find_entitlement`` is the billing guard of ``spell cast``: it re-verifies each
candidate against the trust store *now*, so a token whose key was revoked after ``license add`` no
longer counts.
"""

from __future__ import annotations

import builtins
import json
import os
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from spell.bundle.manifest import Billing
from spell.errors import EntitlementRequired, InvalidInput, LicenseNotFound, SpellError
from spell.kit.encoding import storage_key
from spell.kit.time import to_rfc3339
from spell.signing.entitlement import EntitlementClaims, parse_claims, parse_token, verify_token
from spell.signing.trust import TrustStore

__all__ = ["LicenseStore", "StoredLicense", "find_entitlement"]


@dataclass(frozen=True)
class StoredLicense:
    """One stored licence. ``to_dict`` leaves the raw token out (it is a bearer secret)."""

    name: str
    token: str
    claims: EntitlementClaims
    created_at: str
    updated_at: str
    last_validated_at: str | None = None
    revoked: bool = False
    revoked_at: str | None = None
    revoke_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A summary for people and scripts (no token)."""
        return {
            "name": self.name,
            "issuer": self.claims.issuer,
            "key_id": self.claims.key_id,
            "mode": self.claims.mode,
            "currency": self.claims.currency,
            "max_amount": self.claims.max_amount,
            "not_before": self.claims.not_before,
            "expires_at": self.claims.expires_at,
            "revoked": self.revoked,
            "revoked_at": self.revoked_at,
            "revoke_reason": self.revoke_reason,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "last_validated_at": self.last_validated_at,
        }

    def to_record(self) -> dict[str, Any]:
        """The file's JSON object."""
        parsed = parse_token(self.token)
        record: dict[str, Any] = {
            "version": "v2",
            "name": self.name,
            "token": self.token,
            "token_metadata": parsed.metadata(),
            "entitlement": self.claims.to_dict(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "revoked": self.revoked,
        }
        for key in ("last_validated_at", "revoked_at", "revoke_reason"):
            if getattr(self, key) is not None:
                record[key] = getattr(self, key)
        return record


class LicenseStore:
    """Licence records under ``root`` (normally ``$SPELL_HOME/licenses``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, name: str) -> Path:
        """The record file of licence ``name``."""
        return self.root / f"{storage_key(_name(name))}.json"

    def add(self, name: str, token: str, *, trust: TrustStore, now: datetime) -> StoredLicense:
        """Verify ``token`` and store it as ``name`` (replacing a previous token, keeping ``created_at``)."""
        label = _name(name)
        parsed = verify_token(token, trust, now=now)
        stamp = to_rfc3339(now)
        existing = self._load(label) if self.path_for(label).exists() else None
        stored = StoredLicense(
            name=label,
            token=parsed.raw,
            claims=parsed.claims,
            created_at=existing.created_at if existing else stamp,
            updated_at=stamp,
            last_validated_at=stamp,
        )
        self._write(stored)
        return stored

    def list(self) -> builtins.list[StoredLicense]:
        """Every readable record, by name; files that are not records are skipped like spell-runtime does."""
        if not self.root.is_dir():
            return []
        found: list[StoredLicense] = []
        for path in self.root.glob("*.json"):
            try:
                found.append(_parse(path.read_text(encoding="utf-8"), path))
            except (OSError, SpellError):
                continue
        return sorted(found, key=lambda s: s.name)

    def inspect(self, name: str) -> StoredLicense:
        """The record of ``name``; ``LicenseNotFound`` when there is none."""
        return self._load(_name(name))

    def revoke(self, name: str, *, now: datetime, reason: str | None = None) -> StoredLicense:
        """Mark ``name`` revoked so billing no longer matches it."""
        current = self._load(_name(name))
        stamp = to_rfc3339(now)
        reason = reason.strip() if reason and reason.strip() else None
        updated = replace(current, revoked=True, revoked_at=stamp, revoke_reason=reason, updated_at=stamp)
        self._write(updated)
        return updated

    def restore(self, name: str, *, now: datetime) -> StoredLicense:
        """Clear the revocation of ``name``."""
        current = self._load(_name(name))
        updated = replace(
            current, revoked=False, revoked_at=None, revoke_reason=None, updated_at=to_rfc3339(now)
        )
        self._write(updated)
        return updated

    def remove(self, name: str) -> None:
        """Delete the record of ``name``."""
        path = self.path_for(name)
        if not path.exists():
            raise LicenseNotFound(f"license not found: {name.strip()}", details={"name": name.strip()})
        path.unlink()

    def _load(self, name: str) -> StoredLicense:
        path = self.path_for(name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise LicenseNotFound(
                f"license not found: {name}", details={"name": name}, hint="`spell license list` shows them"
            ) from None
        stored = _parse(text, path)
        if stored.name != name:
            raise InvalidInput(
                f"license file name mismatch: expected '{name}', got '{stored.name}'",
                details={"path": str(path)},
            )
        return stored

    def _write(self, stored: StoredLicense) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".license-", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(stored.to_record(), indent=2) + "\n")
            os.chmod(tmp, 0o600)  # tokens are bearer secrets
            os.replace(tmp, self.path_for(stored.name))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def find_entitlement(
    store: LicenseStore, spell_id: str, *, billing: Billing, trust: TrustStore, now: datetime
) -> StoredLicense:
    """The first licence (by name) that pays for casting ``spell_id`` with ``billing``.

    It must be non-revoked, currently valid, signed by an active trusted key, with the same mode,
    the same currency (case-insensitive) and ``max_amount`` at least the spell's. Raises
    ``EntitlementRequired`` when none does.
    """
    for stored in store.list():
        claims = stored.claims
        if stored.revoked or not claims.is_current(now) or claims.mode != billing.mode:
            continue
        if claims.currency.strip().lower() != billing.currency.strip().lower():
            continue
        if claims.max_amount < billing.max_amount:
            continue
        try:
            verify_token(stored.token, trust, now=now)
        except SpellError:
            continue
        return stored
    raise EntitlementRequired(
        # spell-runtime's sentence comes first: scripts written against it match on it.
        f"billing enabled requires matching entitlement token for {spell_id}: "
        f"no valid, non-revoked one matches mode={billing.mode} currency={billing.currency} "
        f"max_amount>={billing.max_amount}",
        details={
            "id": spell_id,
            "mode": billing.mode,
            "currency": billing.currency,
            "max_amount": billing.max_amount,
        },
        hint="add one with `spell license add NAME TOKEN`",
    )


def _name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise InvalidInput("license name must be non-empty")
    return name


def _parse(text: str, path: Path) -> StoredLicense:
    """Read a v1 or v2 record; v1 records (token only) are re-parsed from the token."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise InvalidInput(f"failed to parse license file: {path}", details={"path": str(path)}) from None
    if not isinstance(data, dict) or data.get("version") not in ("v1", "v2"):
        raise InvalidInput(f"unsupported license file: {path}", details={"path": str(path)})
    fields = {k: data.get(k) for k in ("name", "token", "created_at", "updated_at")}
    if not all(isinstance(v, str) and v.strip() for v in fields.values()):
        raise InvalidInput(
            f"license file lacks name, token or timestamps: {path}", details={"path": str(path)}
        )
    parsed = parse_token(str(fields["token"]))
    if data["version"] == "v2" and parse_claims(data.get("entitlement")) != parsed.claims:
        raise InvalidInput(
            "stored entitlement claims do not match token payload claims", details={"path": str(path)}
        )
    return StoredLicense(
        name=str(fields["name"]).strip(),
        token=parsed.raw,
        claims=parsed.claims,
        created_at=str(fields["created_at"]),
        updated_at=str(fields["updated_at"]),
        last_validated_at=_opt(data, "last_validated_at"),
        revoked=data.get("revoked") is True,
        revoked_at=_opt(data, "revoked_at"),
        revoke_reason=_opt(data, "revoke_reason"),
    )


def _opt(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value.strip() else None
