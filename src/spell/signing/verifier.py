"""Check a bundle's signature against the trust store, in spell-runtime's order and words.

``check_bundle_signature`` reports one of four outcomes — verified, unsigned, untrusted, invalid —
with the reason; ``verify_bundle`` is the same check for callers that must not go on unless the
bundle is verified: it returns None or raises.

Order: no ``spell.sig.json`` → unsigned; signer is not the spell's publisher → invalid; no trust file
→ untrusted; key id not trusted → untrusted; key revoked → invalid; recomputed digest differs →
invalid ("digest mismatch"); trusted key unusable → untrusted; Ed25519 check fails → invalid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature

from spell.bundle.digest import bundle_digest
from spell.bundle.manifest import SpellManifest
from spell.errors import InvalidInput, SignatureMissing, SignatureUntrusted, VerificationError
from spell.kit.encoding import b64url_decode
from spell.signing.keys import public_key_from_b64url
from spell.signing.signature import SignatureFile, read_signature
from spell.signing.trust import TrustStore

__all__ = ["SignatureReport", "SignatureStatus", "check_bundle_signature", "verify_bundle"]

SignatureStatus = Literal["verified", "unsigned", "untrusted", "invalid"]


@dataclass(frozen=True)
class SignatureReport:
    """The outcome of a signature check; ``digest`` is the recomputed one once it was computed."""

    status: SignatureStatus
    publisher: str
    message: str
    key_id: str | None = None
    digest: str | None = None

    @property
    def ok(self) -> bool:
        """True only for ``verified``."""
        return self.status == "verified"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the ``--json`` output of ``spell verify``)."""
        return {
            "ok": self.ok,
            "status": self.status,
            "publisher": self.publisher,
            "key_id": self.key_id,
            "digest": self.digest,
            "message": self.message,
        }

    def raise_unless_verified(self) -> None:
        """Return when verified; otherwise raise the error of this status, the report in its details."""
        if self.ok:
            return
        details = self.to_dict()
        if self.status == "unsigned":
            raise SignatureMissing(
                "signature required: spell.sig.json not found",
                details=details,
                hint="sign it with `spell sign bundle`, or cast with --allow-unsigned if you trust it",
            )
        if self.status == "untrusted":
            raise SignatureUntrusted(
                f"signature required: {self.message}",
                details=details,
                hint=f"trust the publisher's key: spell trust add {self.publisher} <public-key> --key-id KEY",
            )
        raise VerificationError(f"signature required: {self.message}", details=details)


def check_bundle_signature(bundle_dir: Path, manifest: SpellManifest, trust: TrustStore) -> SignatureReport:
    """Evaluate the bundle's signature; a malformed ``spell.sig.json`` is reported as invalid."""
    publisher = manifest.publisher
    try:
        sig = read_signature(bundle_dir)
    except VerificationError as exc:
        return SignatureReport("invalid", publisher, exc.message)
    if sig is None:
        return SignatureReport("unsigned", publisher, "spell.sig.json not found")
    if sig.publisher != publisher:
        message = f"signature publisher mismatch: expected '{publisher}', got '{sig.publisher}'"
        return _report("invalid", sig, publisher, message)
    publisher_trust = trust.load(publisher)
    if publisher_trust is None:
        return _report("untrusted", sig, publisher, f"no trusted key for publisher: {publisher}")
    key = publisher_trust.find(sig.key_id)
    if key is None:
        return _report("untrusted", sig, publisher, f"trusted key_id not found: {sig.key_id}")
    if key.revoked:
        reason = f" ({key.revoke_reason})" if key.revoke_reason else ""
        return _report("invalid", sig, publisher, f"trusted key_id is revoked: {sig.key_id}{reason}")
    digest = bundle_digest(bundle_dir, manifest)
    if digest.hex != sig.digest_hex:
        return _report("invalid", sig, publisher, "digest mismatch", digest=digest.hex)
    try:
        public_key = public_key_from_b64url(key.public_key)
    except InvalidInput as exc:
        message = f"invalid trusted public key: {exc.message.removeprefix('invalid public key: ')}"
        return _report("untrusted", sig, publisher, message, digest=digest.hex)
    try:
        public_key.verify(b64url_decode(sig.signature), digest.value)
    except (InvalidSignature, ValueError):
        return _report("invalid", sig, publisher, "signature verification failed", digest=digest.hex)
    return _report("verified", sig, publisher, "verified", digest=digest.hex)


def verify_bundle(bundle_dir: Path, manifest: SpellManifest, trust: TrustStore) -> None:
    """Return when the bundle is verified; raise ``SignatureMissing``, ``SignatureUntrusted`` or
    ``VerificationError`` (invalid) otherwise."""
    check_bundle_signature(bundle_dir, manifest, trust).raise_unless_verified()


def _report(
    status: SignatureStatus, sig: SignatureFile, publisher: str, message: str, *, digest: str | None = None
) -> SignatureReport:
    return SignatureReport(status, publisher, message, key_id=sig.key_id, digest=digest or sig.digest_hex)
