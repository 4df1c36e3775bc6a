"""Secrets that must sign, so cannot be hashed: sealed with AES-256-GCM under a key derived from the
server's master secret, each bound to the row it belongs to (a sealed value copied elsewhere does not
open)."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["SecretBox", "new_signing_secret"]

_NONCE_BYTES = 12
_SECRET_BYTES = 32


def new_signing_secret() -> str:
    """32 random bytes in the Standard Webhooks ``whsec_<base64>`` form."""
    return "whsec_" + base64.b64encode(os.urandom(_SECRET_BYTES)).decode("ascii")


class SecretBox:
    """Seals and opens short secrets; ``label`` keeps the keys of different uses apart."""

    def __init__(self, master_secret: str, label: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(
            master_secret.encode("utf-8")
        )
        self._aead = AESGCM(key)

    def seal(self, owner: str, secret: str) -> bytes:
        """Nonce, ciphertext and tag of ``secret``, bound to ``owner``."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode("ascii"), owner.encode())

    def open(self, owner: str, sealed: bytes) -> str | None:
        """The secret, or None when it was sealed under another key or for another owner."""
        try:
            plain = self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], owner.encode())
        except InvalidTag:
            return None
        return plain.decode("ascii")
