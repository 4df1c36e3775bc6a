"""``spell.sig.json`` v1: who signed a bundle, with which key, over which digest.

The file is byte-for-byte what spell-runtime writes (two-space JSON, fixed key order, final newline);
the signature is Ed25519 over the 32 raw digest bytes, base64url without padding. Reading applies
spell-runtime's checks in its order, each failure a ``VerificationError`` naming the problem.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spell.bundle.digest import bundle_digest
from spell.bundle.loaders import load_manifest
from spell.errors import InvalidBundle, InvalidInput, VerificationError
from spell.kit.encoding import b64url_encode
from spell.signing.keys import check_token

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["SIGNATURE_FILE", "SignatureFile", "read_signature", "sign_bundle", "write_signature"]

SIGNATURE_FILE = "spell.sig.json"
_HEX64 = re.compile(r"^[a-fA-F0-9]{64}$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class SignatureFile:
    """The content of ``spell.sig.json`` (version v1, ed25519 over sha256)."""

    publisher: str
    key_id: str
    digest_hex: str
    signature: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, in spell-runtime's key order."""
        return {
            "version": "v1",
            "publisher": self.publisher,
            "key_id": self.key_id,
            "algorithm": "ed25519",
            "digest": {"algorithm": "sha256", "value": self.digest_hex},
            "signature": self.signature,
        }

    def to_json(self) -> str:
        """The exact text of the file."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SignatureFile:
        """Parse and check the file's text; ``VerificationError`` says what is wrong."""
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise _bad(f"failed to parse spell.sig.json: {exc}") from None
        if not isinstance(parsed, dict):
            raise _bad("spell.sig.json must be a JSON object")
        version = _required(parsed, "version")
        if version != "v1":
            raise _bad(f"unsupported signature version: {version}")
        publisher = _required(parsed, "publisher")
        key_id = _required(parsed, "key_id")
        algorithm = _required(parsed, "algorithm")
        if algorithm != "ed25519":
            raise _bad(f"unsupported signature algorithm: {algorithm}")
        digest = parsed.get("digest")
        if not isinstance(digest, dict):
            raise _bad("spell.sig.json.digest must be an object")
        digest_algorithm = _required(digest, "algorithm")
        if digest_algorithm != "sha256":
            raise _bad(f"unsupported digest algorithm: {digest_algorithm}")
        value = _required(digest, "value")
        if not _HEX64.fullmatch(value):
            raise _bad("spell.sig.json.digest.value must be a sha256 hex string")
        signature = _required(parsed, "signature")
        if not _B64URL.fullmatch(signature):
            raise _bad("spell.sig.json.signature must be base64url")
        return cls(publisher=publisher, key_id=key_id, digest_hex=value.lower(), signature=signature)


def read_signature(bundle_dir: Path) -> SignatureFile | None:
    """Read ``spell.sig.json`` of a bundle; ``None`` when the bundle has none."""
    path = Path(bundle_dir) / SIGNATURE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(f"failed to read spell.sig.json: {exc}") from None
    return SignatureFile.from_json(text)


def write_signature(bundle_dir: Path, signature: SignatureFile) -> Path:
    """Write ``spell.sig.json`` into the bundle and return its path.

    An existing ``spell.sig.json`` that is a link or not a regular file is refused: writing through
    a link planted in a downloaded folder would overwrite whatever file it points at.
    """
    path = Path(bundle_dir) / SIGNATURE_FILE
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise InvalidBundle(
            f"{path} is a link or special file; refusing to write the signature through it",
            details={"path": str(path)},
            hint="delete it and sign again",
        )
    path.write_text(signature.to_json(), encoding="utf-8")
    return path


def sign_bundle(
    bundle_dir: Path,
    private_key: Ed25519PrivateKey,
    *,
    key_id: str = "default",
    publisher: str | None = None,
) -> SignatureFile:
    """Sign the bundle's digest and write ``spell.sig.json``; the publisher must match the spell id."""
    check_token(key_id, "key id")
    manifest = load_manifest(Path(bundle_dir))
    expected = manifest.publisher
    chosen = (publisher or "").strip() or expected
    if chosen != expected:
        raise InvalidInput(
            f"publisher mismatch: manifest expects '{expected}', got '{chosen}'",
            details={"expected": expected, "got": chosen},
        )
    digest = bundle_digest(Path(bundle_dir), manifest)
    signature = SignatureFile(
        publisher=chosen,
        key_id=key_id,
        digest_hex=digest.hex,
        signature=b64url_encode(private_key.sign(digest.value)),
    )
    write_signature(Path(bundle_dir), signature)
    return signature


def _required(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"spell.sig.json missing '{key}' string")
    return value.strip()


def _bad(message: str) -> VerificationError:
    return VerificationError(message, details={"file": SIGNATURE_FILE})
