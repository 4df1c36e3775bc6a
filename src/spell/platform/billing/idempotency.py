"""Idempotency keys of money requests: required, printable, and bound to the request they first came with."""

from __future__ import annotations

from typing import Any

from spell.kit.canonical_json import canonical_sha256
from spell.platform.billing.errors import IdempotencyKeyRequired
from spell.platform.cast.errors import IdempotencyConflict

__all__ = ["check_key", "conflict", "request_digest"]


def check_key(key: str | None, *, what: str) -> str:
    """``key`` when it is 1-128 printable ASCII characters, else ``IDEMPOTENCY_KEY_REQUIRED``."""
    if key is None or key == "":
        raise IdempotencyKeyRequired(
            f"the Idempotency-Key header is required for {what}",
            hint="send a unique key per intended payment (e.g. a UUID) and reuse it when you retry",
        )
    if len(key) > 128 or not all(0x20 <= ord(ch) < 0x7F for ch in key):
        raise IdempotencyKeyRequired("Idempotency-Key must be 1-128 printable ASCII characters")
    return key


def request_digest(request: dict[str, Any]) -> str:
    """The digest a later request with the same key must match."""
    return canonical_sha256(request)


def conflict(key: str, existing_id: str) -> IdempotencyConflict:
    """The key was used before with another request."""
    return IdempotencyConflict(
        "this Idempotency-Key was used with a different request",
        details={"idempotency_key": key, "id": existing_id},
        hint="use a new key for a new request",
    )
