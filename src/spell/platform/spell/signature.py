"""Check a bundle's ``spell.sig.json`` against the publisher keys registered on this server.

Ed25519 over the raw 32-byte bundle digest; public keys are SPKI-DER in base64url (compatible with
spell-runtime signature files).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key

from spell.errors import SignatureMissing, SignatureUntrusted, VerificationError
from spell.kit.encoding import b64url_decode

__all__ = ["SIGNATURE_FILE", "check_public_key", "verify_bundle_signature"]

SIGNATURE_FILE = "spell.sig.json"


def check_public_key(public_key_b64url: str) -> None:
    """Refuse anything that is not an Ed25519 SPKI-DER key in base64url."""
    try:
        key = load_der_public_key(b64url_decode(public_key_b64url))
    except ValueError as exc:
        raise VerificationError("public key is not base64url SPKI-DER", details={"reason": str(exc)}) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise VerificationError("public key is not an Ed25519 key")


def _read(bundle_dir: Path) -> dict[str, Any]:
    path = bundle_dir / SIGNATURE_FILE
    if not path.is_file():
        raise SignatureMissing("the bundle carries no spell.sig.json", hint="sign it: spell sign bundle …")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VerificationError(f"spell.sig.json is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise VerificationError("spell.sig.json must be an object")
    return data


def verify_bundle_signature(
    bundle_dir: Path, *, publisher: str, digest_hex: str, keys: dict[str, str]
) -> str:
    """Verify and return the signing key id; ``keys`` maps active key ids to public keys."""
    sig = _read(bundle_dir)
    if sig.get("publisher") != publisher:
        raise VerificationError(
            "signature publisher does not match the spell id",
            details={"signature_publisher": sig.get("publisher"), "publisher": publisher},
        )
    digest = sig.get("digest")
    if not isinstance(digest, dict) or digest.get("value") != digest_hex:
        raise VerificationError("digest mismatch: the bundle changed after signing")
    key_id = sig.get("key_id")
    if not isinstance(key_id, str) or key_id not in keys:
        raise SignatureUntrusted(
            f"key {key_id!r} is not an active key of publisher {publisher!r}",
            details={"key_id": key_id, "publisher": publisher},
            hint=f"register it: POST /v1/publishers/{publisher}/keys",
        )
    try:
        public = load_der_public_key(b64url_decode(keys[key_id]))
        signature = b64url_decode(str(sig.get("signature", "")))
        if not isinstance(public, Ed25519PublicKey):
            raise VerificationError("registered key is not Ed25519")
        public.verify(signature, bytes.fromhex(digest_hex))
    except (InvalidSignature, ValueError) as exc:
        raise VerificationError("signature does not verify", details={"key_id": key_id}) from exc
    return key_id
