"""API key secrets: ``sk_live_``/``sk_test_`` + 32 random bytes (base64url), kept only as an HMAC."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from spell.kit.encoding import b64url_encode

__all__ = ["hash_secret", "new_secret", "shown_prefix"]


def new_secret(*, test: bool = False) -> str:
    """A fresh key secret; shown once to its owner, never stored."""
    return ("sk_test_" if test else "sk_live_") + b64url_encode(secrets.token_bytes(32))


def hash_secret(secret_key: str, token: str) -> str:
    """The keyed hash stored and looked up instead of the secret (a DB leak reveals no usable key)."""
    return hmac.new(secret_key.encode("utf-8"), token.encode("utf-8"), hashlib.sha256).hexdigest()


def shown_prefix(token: str) -> str:
    """The part of a key safe to show in listings (``sk_live_AbCd``)."""
    return token[:12]
