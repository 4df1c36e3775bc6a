"""Entitlement tokens ``ent1.<payload>.<signature>`` (compatible with spell-runtime).

The payload is base64url JSON with ``version`` ("v1"), ``issuer``, ``key_id``, ``mode``
(upfront|on_success|subscription), ``currency``, ``max_amount`` (number), ``not_before`` and
``expires_at`` (ISO-8601). The signature is Ed25519 over the payload *segment* as ASCII bytes, by the
key ``key_id`` that the trust store holds for publisher ``issuer``.

One deliberate difference from spell-runtime: a token whose key is revoked in the trust store is
refused — revoking a key must stop what it signed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.errors import InvalidEntitlement, InvalidInput
from spell.kit.canonical_json import canonical_bytes
from spell.kit.encoding import b64url_decode, b64url_encode
from spell.signing.keys import public_key_from_b64url
from spell.signing.trust import TrustStore

__all__ = [
    "MODES",
    "EntitlementClaims",
    "EntitlementMode",
    "ParsedToken",
    "issue_token",
    "parse_claims",
    "parse_token",
    "verify_token",
]

PREFIX = "ent1"
EntitlementMode = Literal["upfront", "on_success", "subscription"]
MODES: tuple[EntitlementMode, ...] = ("upfront", "on_success", "subscription")
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")
_MAX_TOKEN_CHARS = 16 * 1024


@dataclass(frozen=True)
class EntitlementClaims:
    """What a token grants: billed casts in ``mode`` and ``currency`` up to ``max_amount``, in a window."""

    issuer: str
    key_id: str
    mode: EntitlementMode
    currency: str
    max_amount: float
    not_before: str
    expires_at: str
    version: str = "v1"

    @property
    def window(self) -> tuple[datetime, datetime]:
        """``(not_before, expires_at)`` as aware UTC datetimes."""
        return _timestamp(self.not_before, "not_before"), _timestamp(self.expires_at, "expires_at")

    def is_current(self, now: datetime) -> bool:
        """True when ``not_before <= now <= expires_at``."""
        start, end = self.window
        return start <= now <= end

    def to_dict(self) -> dict[str, Any]:
        """The payload JSON object."""
        return {
            "version": self.version,
            "issuer": self.issuer,
            "key_id": self.key_id,
            "mode": self.mode,
            "currency": self.currency,
            "max_amount": self.max_amount,
            "not_before": self.not_before,
            "expires_at": self.expires_at,
        }


@dataclass(frozen=True)
class ParsedToken:
    """A syntactically valid token: its claims and its two segments."""

    raw: str
    claims: EntitlementClaims
    payload_b64url: str
    signature_b64url: str

    def metadata(self) -> dict[str, str]:
        """``token_metadata`` as licence records store it."""
        return {
            "format": PREFIX,
            "payload_base64url": self.payload_b64url,
            "signature_base64url": self.signature_b64url,
        }


def parse_token(token: str) -> ParsedToken:
    """Split and decode a token and validate its claims (the signature is not checked here)."""
    raw = token.strip()
    if not raw:
        raise InvalidInput("entitlement token must be non-empty")
    if len(raw) > _MAX_TOKEN_CHARS:
        raise InvalidEntitlement(f"entitlement token is longer than {_MAX_TOKEN_CHARS} characters")
    parts = raw.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise InvalidEntitlement(
            "invalid entitlement token format; expected ent1.<payloadBase64url>.<signatureBase64url>"
        )
    payload, signature = parts[1], parts[2]
    for label, segment in (("payload", payload), ("signature", signature)):
        if not _B64URL.match(segment):
            raise InvalidEntitlement(f"invalid entitlement {label} segment: must be base64url")
    try:
        data = json.loads(b64url_decode(payload).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidEntitlement(f"invalid entitlement payload JSON: {exc}") from None
    return ParsedToken(raw, parse_claims(data), payload, signature)


def parse_claims(data: Any) -> EntitlementClaims:
    """Validate a payload object."""
    if not isinstance(data, dict):
        raise InvalidEntitlement("invalid entitlement payload: expected JSON object")
    version = _string(data, "version")
    if version != "v1":
        raise InvalidEntitlement(f"invalid entitlement payload: unsupported version '{version}'")
    mode = _string(data, "mode")
    if mode not in MODES:
        raise InvalidEntitlement(f"invalid entitlement payload: unsupported mode '{mode}'")
    amount = data.get("max_amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise InvalidEntitlement("invalid entitlement payload: missing 'max_amount' number")
    if amount < 0 or amount != amount or amount in (float("inf"), float("-inf")):
        raise InvalidEntitlement(
            "invalid entitlement payload: max_amount must be a non-negative finite number"
        )
    claims = EntitlementClaims(
        issuer=_string(data, "issuer"),
        key_id=_string(data, "key_id"),
        mode=next(m for m in MODES if m == mode),
        currency=_string(data, "currency"),
        max_amount=amount,
        not_before=_string(data, "not_before"),
        expires_at=_string(data, "expires_at"),
    )
    start, end = claims.window
    if start > end:
        raise InvalidEntitlement("invalid entitlement payload: not_before must be <= expires_at")
    return claims


def issue_token(claims: EntitlementClaims, private_key: Ed25519PrivateKey) -> str:
    """Sign ``claims`` with ``private_key`` (the key ``claims.key_id`` of issuer ``claims.issuer``)."""
    parse_claims(claims.to_dict())  # a token that would not parse back is never handed out
    payload = b64url_encode(canonical_bytes(claims.to_dict()))
    signature = b64url_encode(private_key.sign(payload.encode("ascii")))
    return f"{PREFIX}.{payload}.{signature}"


def verify_token(token: str, trust: TrustStore, *, now: datetime) -> ParsedToken:
    """Parse ``token`` and check it: trusted issuer, known and *active* key, valid signature, in window."""
    parsed = parse_token(token)
    claims = parsed.claims
    publisher = trust.load(claims.issuer)
    if publisher is None:
        raise InvalidEntitlement(
            f"entitlement issuer is not trusted: {claims.issuer}",
            details={"issuer": claims.issuer},
            hint=f"spell trust add {claims.issuer} <public-key> --key-id {claims.key_id}",
        )
    key = publisher.find(claims.key_id)
    if key is None:
        raise InvalidEntitlement(
            f"entitlement key_id is not trusted for issuer '{claims.issuer}': {claims.key_id}",
            details={"issuer": claims.issuer, "key_id": claims.key_id},
        )
    if key.revoked:
        raise InvalidEntitlement(
            f"entitlement key is revoked: issuer={claims.issuer} key_id={claims.key_id}",
            details={"issuer": claims.issuer, "key_id": claims.key_id, "revoked_at": key.revoked_at},
        )
    try:
        public_key_from_b64url(key.public_key).verify(
            b64url_decode(parsed.signature_b64url), parsed.payload_b64url.encode("ascii")
        )
    except (InvalidSignature, ValueError):
        raise InvalidEntitlement(
            "entitlement signature verification failed", details={"issuer": claims.issuer}
        ) from None
    start, end = claims.window
    if now < start:
        raise InvalidEntitlement(f"entitlement token not valid yet (not_before={claims.not_before})")
    if now > end:
        raise InvalidEntitlement(f"entitlement token expired (expires_at={claims.expires_at})")
    return parsed


def _string(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidEntitlement(f"invalid entitlement payload: missing '{key}' string")
    return value.strip()


def _timestamp(value: str, key: str) -> datetime:
    if not _ISO.match(value):
        raise InvalidEntitlement(f"invalid entitlement payload: '{key}' must be an ISO-8601 timestamp")
    text = value.replace("Z", "+00:00")
    # Python takes at most 6 fraction digits; extra precision cannot matter for a licence window.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        raise InvalidEntitlement(f"invalid entitlement payload: '{key}' is not a valid timestamp") from None
