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

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spell.bundle.digest import bundle_digest
from spell.bundle.loaders import load_manifest
from spell.errors import InvalidTrustFile, SignatureMissing, SigstoreInvalid
from spell.kit.encoding import storage_key

__all__ = [
    "SIGSTORE_FILE",
    "SigstorePolicy",
    "SigstoreTrust",
    "SigstoreTrustEntry",
    "check_bundle_sigstore",
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


@dataclass(frozen=True)
class SigstoreTrustEntry:
    """Who may sign for one publisher with Sigstore, the pinned trusted root to check against, and
    whether a bundle of that publisher without ``spell.sigstore.json`` is refused."""

    policy: SigstorePolicy
    trusted_root: Path
    required: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "identity": self.policy.identity,
            "issuer": self.policy.issuer,
            "trusted_root": str(self.trusted_root),
            "required": self.required,
        }


class SigstoreTrust:
    """Sigstore identity policies trusted on this machine, one JSON file per publisher.

    Kept apart from the Ed25519 trust files so those stay in spell-runtime's format. Files live at
    ``<root>/<base64url(publisher)>.json``; a malformed one is an ``InvalidTrustFile``, never skipped.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, publisher: str) -> Path:
        return self.root / f"{storage_key(publisher)}.json"

    def set(self, publisher: str, entry: SigstoreTrustEntry) -> SigstoreTrustEntry:
        """Trust ``entry`` for ``publisher``, replacing any earlier one."""
        resolved = SigstoreTrustEntry(entry.policy, entry.trusted_root.resolve(), entry.required)
        if not resolved.trusted_root.is_file():
            raise SigstoreInvalid(
                f"sigstore trusted root not found: {resolved.trusted_root}",
                details={"trusted_root": str(resolved.trusted_root)},
            )
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path_for(publisher)
        tmp = path.with_name(path.name + ".tmp")
        record = {"publisher": publisher, **resolved.to_dict()}
        tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
        return resolved

    def load(self, publisher: str) -> SigstoreTrustEntry | None:
        """The entry of ``publisher``, or None when no Sigstore identity is trusted for it."""
        path = self.path_for(publisher)
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise _invalid_trust(path, f"cannot read sigstore trust file: {exc}") from None
        fields = ("publisher", "identity", "issuer", "trusted_root")
        if not isinstance(data, dict) or not all(isinstance(data.get(f), str) for f in fields):
            raise _invalid_trust(path, f"sigstore trust file needs string fields {', '.join(fields)}")
        if data["publisher"] != publisher:
            raise _invalid_trust(path, f"sigstore trust file names publisher '{data['publisher']}'")
        try:
            policy = SigstorePolicy(data["identity"], data["issuer"])
        except SigstoreInvalid as exc:
            raise _invalid_trust(path, exc.message) from None
        required = data.get("required", False)
        if not isinstance(required, bool):
            raise _invalid_trust(path, "sigstore trust file 'required' must be a boolean")
        return SigstoreTrustEntry(policy, Path(data["trusted_root"]), required)


def check_bundle_sigstore(bundle_dir: Path, publisher: str, trust: SigstoreTrust) -> bool:
    """Verify ``spell.sigstore.json`` when the bundle has one and ``publisher`` has a trusted policy.

    Returns True when it verified, False when there was nothing to check (no file, or no policy:
    an identity cannot be proven without knowing which one to expect); raises ``SigstoreInvalid``,
    or ``SignatureMissing`` when the publisher's entry requires the file and the bundle has none.
    """
    entry = trust.load(publisher)
    if entry is None:
        return False
    verified = verify_bundle_sigstore(bundle_dir, trusted_root_path=entry.trusted_root, policy=entry.policy)
    if not verified and entry.required:
        raise SignatureMissing(
            f"sigstore bundle required: {SIGSTORE_FILE} not found",
            details={"publisher": publisher, "identity": entry.policy.identity},
        )
    return verified


def _invalid_trust(path: Path, reason: str) -> InvalidTrustFile:
    return InvalidTrustFile(f"{reason}: {path}", details={"path": str(path)})
