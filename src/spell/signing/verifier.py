"""Check a bundle's signature against trusted keys, in spell-runtime's order and words.

``check_bundle_signature`` reports one of four outcomes — verified, unsigned, untrusted, invalid —
with the reason; ``verify_bundle`` is the same check for callers that must not go on unless the
bundle is verified: it returns None or raises. The keys come from a ``TrustSource``: the local
trust store, or the publisher keys a server has registered. ``SignatureRule`` decides whether a
cast may go on with a report that is not ``verified``; the local cast and the server both use it.

Order: no ``spell.sig.json`` → unsigned; signer is not the spell's publisher → invalid; no trust file
→ untrusted; key id not trusted → untrusted; key revoked → invalid; recomputed digest differs →
invalid ("digest mismatch"); trusted key unusable → untrusted; Ed25519 check fails → invalid.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from spell.bundle.digest import BundleDigest, bundle_digest
from spell.bundle.manifest import SpellManifest
from spell.errors import InvalidInput, SignatureMissing, SignatureUntrusted, VerificationError
from spell.kit.encoding import b64url_decode
from spell.signing.keys import public_key_from_b64url
from spell.signing.signature import SignatureFile, read_signature
from spell.signing.trust import TrustSource

if TYPE_CHECKING:
    from spell.bundle.cache import PrivateCache

__all__ = [
    "SignatureHints",
    "SignatureReport",
    "SignatureRule",
    "SignatureStatus",
    "check_bundle_signature",
    "verify_bundle",
]

SignatureStatus = Literal["verified", "unsigned", "untrusted", "invalid"]


@dataclass(frozen=True)
class SignatureHints:
    """What a refusal tells the user to do; ``{publisher}`` is filled in. The defaults speak to the
    CLI user, a server gives its own."""

    unsigned: str = "sign it with `spell sign bundle`, or cast with --allow-unsigned if you trust it"
    untrusted: str = "trust the publisher's key: spell trust add {publisher} <public-key> --key-id KEY"


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

    def raise_unless_verified(self, hints: SignatureHints | None = None) -> None:
        """Return when verified; otherwise raise the error of this status, the report in its details."""
        if self.ok:
            return
        hints = hints or SignatureHints()
        message = f"signature required: {self.message}"
        details = self.to_dict()
        if self.status == "unsigned":
            raise SignatureMissing(
                message, details=details, hint=hints.unsigned.format(publisher=self.publisher)
            )
        if self.status == "untrusted":
            hint = hints.untrusted.format(publisher=self.publisher)
            raise SignatureUntrusted(message, details=details, hint=hint)
        raise VerificationError(message, details=details)


@dataclass(frozen=True)
class SignatureRule:
    """Whether a cast may go on without a verified signature — one rule for the local cast and the server.

    A verified signature is required unless ``allow_unsigned`` waives it; a cast may ask for one or
    waive it itself (``wanted``: a CLI flag, a button's ``require_signature``); ``force`` beats every
    waiver. An invalid signature is refused whatever the rule: it shows tampering, not a missing
    signature.
    """

    allow_unsigned: bool = False
    force: bool = False
    hints: SignatureHints = field(default_factory=SignatureHints)

    def required(self, wanted: bool | None = None) -> bool:
        """True when this cast needs a verified signature (``wanted`` None: the rule's default)."""
        return self.force or wanted is True or (wanted is None and not self.allow_unsigned)

    def enforce(self, report: SignatureReport, wanted: bool | None = None) -> None:
        """Return when the cast may go on with ``report``; raise its signature error otherwise."""
        if report.status == "invalid" or self.required(wanted):
            report.raise_unless_verified(self.hints)


def check_bundle_signature(
    bundle_dir: Path,
    manifest: SpellManifest,
    trust: TrustSource,
    *,
    digest: BundleDigest | None = None,
    verified: PrivateCache | None = None,
) -> SignatureReport:
    """Evaluate the bundle's signature; a malformed ``spell.sig.json`` is reported as invalid.

    ``digest``: the bundle's digest when the caller computed it already (it is recomputed otherwise).
    ``verified``: where Ed25519 checks that passed are remembered (``_ed25519_ok``); every other
    step — reading the signature, the trust and revocation checks, the digest recomputed from the
    files — runs each time.
    """
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
    digest = digest or bundle_digest(bundle_dir, manifest)
    if digest.hex != sig.digest_hex:
        return _report("invalid", sig, publisher, "digest mismatch", digest=digest.hex)
    failure = _ed25519_check(key.public_key, sig.signature, digest.value, verified)
    if failure is not None:
        status, message = failure
        return _report(status, sig, publisher, message, digest=digest.hex)
    return _report("verified", sig, publisher, "verified", digest=digest.hex)


# Part of every remembered check's key, so an entry never stands for anything but this check.
_ED25519_CACHE_DOMAIN = b"spell ed25519 verified v1\0"


def _ed25519_check(
    public_key_text: str, signature_text: str, message: bytes, verified: PrivateCache | None
) -> tuple[SignatureStatus, str] | None:
    """None when ``signature_text`` is a valid Ed25519 signature of ``message`` by the key; else the
    report's status and message.

    The check is a pure function of the three values, so one that passed is remembered under a
    SHA-256 of all three (in ``verified``, a private cache: ``spell.bundle.cache``): the next
    check of the same signature over the same digest by the same key skips cryptography's import
    (most of the check's cost in a CLI process) and the arithmetic. A failure is never remembered.
    """
    key = None
    if verified is not None:
        material = "\0".join((public_key_text, signature_text, message.hex())).encode("utf-8")
        key = hashlib.sha256(_ED25519_CACHE_DOMAIN + material).hexdigest()
        if verified.get(key) == b"verified":
            return None
    from cryptography.exceptions import InvalidSignature

    try:
        public_key = public_key_from_b64url(public_key_text)
    except InvalidInput as exc:
        return "untrusted", f"invalid trusted public key: {exc.message.removeprefix('invalid public key: ')}"
    try:
        public_key.verify(b64url_decode(signature_text), message)
    except (InvalidSignature, ValueError):
        return "invalid", "signature verification failed"
    if verified is not None and key is not None:
        verified.put(key, b"verified")
    return None


def verify_bundle(bundle_dir: Path, manifest: SpellManifest, trust: TrustSource) -> None:
    """Return when the bundle is verified; raise ``SignatureMissing``, ``SignatureUntrusted`` or
    ``VerificationError`` (invalid) otherwise."""
    check_bundle_signature(bundle_dir, manifest, trust).raise_unless_verified()


def _report(
    status: SignatureStatus, sig: SignatureFile, publisher: str, message: str, *, digest: str | None = None
) -> SignatureReport:
    return SignatureReport(status, publisher, message, key_id=sig.key_id, digest=digest or sig.digest_hex)
