"""Sigstore bundles verified offline: ``spell.sigstore.json`` beside ``spell.sig.json``.

What a maker signs with Sigstore is the bundle digest as lowercase hex ASCII (64 bytes, no newline,
the ``digest.value`` of ``spell.sig.json``): the same digest the Ed25519 signature covers, in a form
``python -m sigstore sign`` takes as a plain file. ``spell.sigstore.json`` sits at the bundle root,
which the digest does not cover, so adding it does not change what it signs.

Verification never reaches the network: the trusted root is read from a pinned file (no TUF update)
and the bundle must carry its own transparency-log proof. Who may sign is a ``SigstorePolicy``: the
certificate's identity (an e-mail or a workflow URI) and the OIDC issuer that vouched for it. Every
refusal is a ``SigstoreInvalid``; ``sigstore`` is imported only when a bundle is checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spell.bundle.digest import bundle_digest
from spell.bundle.loaders import load_manifest
from spell.errors import SigstoreInvalid

__all__ = [
    "SIGSTORE_FILE",
    "SigstorePolicy",
    "signed_artifact",
    "verify_bundle_sigstore",
    "verify_sigstore_bundle",
]

SIGSTORE_FILE = "spell.sigstore.json"


@dataclass(frozen=True)
class SigstorePolicy:
    """Who may sign: the certificate identity and the OIDC issuer, both matched exactly."""

    identity: str
    issuer: str

    def __post_init__(self) -> None:
        # An empty identity or issuer would make the policy ambiguous about what it allows.
        if not self.identity.strip() or not self.issuer.strip():
            raise SigstoreInvalid(
                "sigstore policy needs a non-empty identity and issuer",
                details={"identity": self.identity, "issuer": self.issuer},
            )


def signed_artifact(digest_hex: str) -> bytes:
    """The bytes a maker signs with Sigstore for a bundle whose digest is ``digest_hex``."""
    return digest_hex.lower().encode("ascii")


def verify_sigstore_bundle(
    artifact: bytes,
    bundle_json: bytes | str,
    *,
    trusted_root_path: Path,
    policy: SigstorePolicy,
) -> None:
    """Verify ``bundle_json`` over ``artifact`` offline; return None or raise ``SigstoreInvalid``."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle, TrustedRoot
    from sigstore.verify import Verifier
    from sigstore.verify.policy import Identity

    details = {"identity": policy.identity, "issuer": policy.issuer}
    try:
        trusted_root = TrustedRoot.from_file(str(trusted_root_path))
    except (OSError, ValueError, SigstoreError) as exc:
        raise SigstoreInvalid(
            f"sigstore trusted root unreadable: {trusted_root_path}: {exc}",
            details={**details, "trusted_root": str(trusted_root_path)},
        ) from None
    try:
        bundle = Bundle.from_json(bundle_json)
    except (ValueError, SigstoreError) as exc:
        raise SigstoreInvalid(f"malformed sigstore bundle: {exc}", details=details) from None
    verifier = Verifier(trusted_root=trusted_root)
    try:
        verifier.verify_artifact(artifact, bundle, Identity(identity=policy.identity, issuer=policy.issuer))
    except (ValueError, SigstoreError) as exc:
        raise SigstoreInvalid(f"sigstore verification failed: {exc}", details=details) from None


def verify_bundle_sigstore(bundle_dir: Path, *, trusted_root_path: Path, policy: SigstorePolicy) -> bool:
    """Verify a spell bundle's ``spell.sigstore.json`` over its digest.

    Returns False when the bundle has no Sigstore bundle (the caller decides whether one is
    required), True when it verifies; raises ``SigstoreInvalid`` otherwise.
    """
    root = Path(bundle_dir)
    path = root / SIGSTORE_FILE
    if not path.exists() and not path.is_symlink():
        return False
    if path.is_symlink() or not path.is_file():
        raise SigstoreInvalid(f"{SIGSTORE_FILE} must be a regular file", details={"path": str(path)})
    try:
        bundle_json = path.read_bytes()
    except OSError as exc:
        raise SigstoreInvalid(f"failed to read {SIGSTORE_FILE}: {exc}") from None
    digest = bundle_digest(root, load_manifest(root))
    verify_sigstore_bundle(
        signed_artifact(digest.hex),
        bundle_json,
        trusted_root_path=trusted_root_path,
        policy=policy,
    )
    return True
