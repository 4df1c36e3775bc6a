"""Base64url without padding, as spell-runtime writes keys, signatures and storage keys."""

from __future__ import annotations

import base64
import binascii

__all__ = ["b64url_decode", "b64url_encode", "storage_key"]


def b64url_encode(data: bytes) -> str:
    """Encode bytes as unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url text with or without padding; raise ``ValueError`` on garbage."""
    stripped = text.strip()
    if not stripped or any(c not in _ALPHABET for c in stripped.rstrip("=")):
        raise ValueError(f"not base64url text: {stripped[:40]!r}")
    try:
        return base64.urlsafe_b64decode(stripped.rstrip("=") + "=" * (-len(stripped.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64url text: {stripped[:40]!r}") from exc


def storage_key(identifier: str) -> str:
    """Return the file-system key of an id: ``base64url(utf8(id))``."""
    return b64url_encode(identifier.encode("utf-8"))


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
