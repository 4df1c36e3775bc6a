"""RFC 8785 canonical JSON for anything hashed or signed."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

__all__ = ["canonical_bytes", "canonical_sha256"]


def canonical_bytes(value: Any) -> bytes:
    """Serialise ``value`` with the JSON Canonicalization Scheme (RFC 8785)."""
    return bytes(rfc8785.dumps(value))


def canonical_sha256(value: Any) -> str:
    """Return ``sha256:<hex>`` of the canonical form of ``value``."""
    return "sha256:" + hashlib.sha256(canonical_bytes(value)).hexdigest()
