"""RFC 8785 canonical JSON for anything hashed or signed.

Most values hashed per cast (audit records, request digests) hold only strings, safe integers, booleans
and nulls under ASCII keys. For those, ``json.dumps`` with sorted keys and no spaces writes exactly the
RFC 8785 bytes, in C; everything else (floats, large integers, non-ASCII keys) goes through the
``rfc8785`` serializer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

__all__ = ["canonical_bytes", "canonical_sha256"]

_SAFE_INT = 2**53 - 1
_PLAIN = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_bytes(value: Any) -> bytes:
    """Serialise ``value`` with the JSON Canonicalization Scheme (RFC 8785)."""
    if _plain(value):
        try:
            return _PLAIN.encode(value).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: let the full serializer say what is wrong
            pass
    return bytes(rfc8785.dumps(value))


def canonical_sha256(value: Any) -> str:
    """Return ``sha256:<hex>`` of the canonical form of ``value``."""
    return "sha256:" + hashlib.sha256(canonical_bytes(value)).hexdigest()


def _plain(value: Any) -> bool:
    """True when sorted-key ``json.dumps`` is RFC 8785 for ``value``: no floats (their number format
    differs), integers within ±2^53, and ASCII keys (sorted by code point equals by UTF-16 unit)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_SAFE_INT <= value <= _SAFE_INT)
    if kind is dict:
        return all(type(key) is str and key.isascii() and _plain(item) for key, item in value.items())
    if kind is list or kind is tuple:
        return all(_plain(item) for item in value)
    return False
