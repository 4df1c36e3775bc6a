"""The Sigstore identities a publisher allows, whether it requires them, and the check at publish.

A publisher registers which certificate identities (an e-mail, a CI workflow URI) and OIDC issuers may
sign its bundles with Sigstore. At publish a ``spell.sigstore.json`` is verified offline against the
server's pinned trusted root (``SPELL_SUPPLY_SIGSTORE_TRUSTED_ROOT``) and the publisher's active
identities, any one matching. A publisher that requires Sigstore gets every bundle without a valid one
refused; for the others a bundle this server cannot check (no pinned root, no identity registered)
still publishes, with a warning, and records no identity: nothing was proven.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from spell.bundle.digest import BundleDigest
from spell.errors import AlreadyExists, Conflict, InvalidInput, NotFound, SigstoreInvalid
from spell.kit.ids import new_id
from spell.kit.time import utcnow
from spell.models import Publisher, PublisherSigstoreIdentity
from spell.platform.audit.hooks import act_as
from spell.platform.auth.schemas import Principal
from spell.platform.spell.publishers import owned_publisher
from spell.platform.spell.repository import SpellRepository
from spell.signing.sigstore import SIGSTORE_FILE, SigstorePolicy, signed_artifact, verify_sigstore_bundle
from spell.storage.session import UnitOfWork

__all__ = [
    "PublisherSigstore",
    "SigstoreCheck",
    "check_publish",
    "list_identities",
    "register_identity",
    "revoke_identity",
    "set_required",
]

_log = logging.getLogger(__name__)
_REPO = SpellRepository()
_SIGN_HINT = (
    "sign the bundle digest with `python -m sigstore sign` as a registered identity and put the "
    f"bundle at {SIGSTORE_FILE} (docs/supply-chain.md)"
)
_ROOT_HINT = "the operator pins one with SPELL_SUPPLY_SIGSTORE_TRUSTED_ROOT"


@dataclass(frozen=True)
class PublisherSigstore:
    """A publisher's Sigstore policy: whether it is required, and every identity ever registered."""

    publisher: str
    required: bool
    identities: list[PublisherSigstoreIdentity]


def register_identity(
    uow: UnitOfWork, principal: Principal, publisher: str, *, identity: str, issuer: str
) -> PublisherSigstoreIdentity:
    """Allow ``identity`` vouched for by ``issuer`` to sign the publisher's bundles (makers only).

    Registering a revoked pair again makes it active again; an active one is ``ALREADY_EXISTS``.
    """
    _owned(uow, principal, publisher)
    identity, issuer = identity.strip(), issuer.strip()
    policy = _policy(identity, issuer)
    row = _REPO.sigstore_identity(uow, publisher, identity=policy.identity, issuer=policy.issuer)
    if row is not None:
        if row.revoked_at is None:
            raise AlreadyExists(
                f"{identity!r} from {issuer!r} is already registered for {publisher!r}",
                details={"publisher": publisher, "id": row.id},
            )
        row.revoked_at = None
        row.created_at = utcnow()
        uow.session.flush()
        return row
    row = PublisherSigstoreIdentity(
        id=new_id("sgid"), publisher=publisher, identity=identity, issuer=issuer, created_at=utcnow()
    )
    _REPO.add(uow, row)
    return row


def list_identities(uow: UnitOfWork, principal: Principal, publisher: str) -> PublisherSigstore:
    """The publisher's Sigstore policy (its own tenant's makers only)."""
    return _describe(uow, _owned(uow, principal, publisher))


def revoke_identity(
    uow: UnitOfWork, principal: Principal, publisher: str, identity_id: str
) -> PublisherSigstoreIdentity:
    """Revoke an identity: bundles it signs no longer publish (revoking twice is a no-op).

    Revoking the last identity of a publisher that requires Sigstore is allowed: a compromised
    identity must go at once, even if nothing can be published until another is registered.
    """
    _owned(uow, principal, publisher)
    rows = [row for row in _REPO.sigstore_identities(uow, publisher) if row.id == identity_id]
    if not rows:
        raise NotFound(
            f"no Sigstore identity {identity_id!r} for {publisher!r}",
            details={"publisher": publisher, "id": identity_id},
        )
    row = rows[0]
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        uow.session.flush()
    return row


def set_required(
    uow: UnitOfWork, principal: Principal, publisher: str, *, required: bool, trusted_root: Path | None
) -> PublisherSigstore:
    """Require (or stop requiring) a verified ``spell.sigstore.json`` on every publish.

    Requiring needs an active identity and a trusted root pinned on this server, else no bundle could
    ever publish.
    """
    row = _owned(uow, principal, publisher)
    if required:
        if trusted_root is None:
            raise Conflict(
                "this server has no pinned Sigstore trusted root: it cannot verify Sigstore bundles",
                details={"publisher": publisher},
                hint=_ROOT_HINT,
            )
        if not _REPO.sigstore_identities(uow, publisher, active=True):
            raise Conflict(
                f"publisher {publisher!r} has no active Sigstore identity to require",
                details={"publisher": publisher},
                hint=_register_hint(publisher),
            )
    if row.sigstore_required != required:
        row.sigstore_required = required
        uow.session.flush()
    return _describe(uow, row)


@dataclass(frozen=True)
class SigstoreCheck:
    """What publishing found: the identity that signed the bundle (None: nothing proven), and warnings."""

    identity: str | None = None
    warnings: tuple[str, ...] = ()


def check_publish(
    uow: UnitOfWork, bundle: Path, publisher: str, digest: BundleDigest, trusted_root: Path | None
) -> SigstoreCheck:
    """Verify the bundle's ``spell.sigstore.json`` for publishing.

    No identity when there is no file, or (for a publisher that does not require Sigstore, with a
    warning) when this server cannot check it; raises ``SigstoreInvalid`` when it does not verify or a
    required one is missing.
    """
    row = _REPO.publisher(uow, publisher)
    required = row is not None and row.sigstore_required
    path = bundle / SIGSTORE_FILE
    details = {"publisher": publisher, "digest": digest.text}
    if not path.exists() and not path.is_symlink():
        if required:
            raise SigstoreInvalid(
                f"publisher {publisher!r} requires a Sigstore bundle: {SIGSTORE_FILE} not found",
                details=details,
                hint=_SIGN_HINT,
            )
        return SigstoreCheck()
    identities = _REPO.sigstore_identities(uow, publisher, active=True)
    if trusted_root is None or not identities:
        if trusted_root is None:
            reason, hint = "no pinned trusted root on this server", _ROOT_HINT
        else:
            reason, hint = "no registered identity", _register_hint(publisher)
        if required:
            raise SigstoreInvalid(f"{SIGSTORE_FILE} cannot be verified: {reason}", details=details, hint=hint)
        _log.warning("%s of %s published unverified (%s)", SIGSTORE_FILE, digest.text, reason)
        return SigstoreCheck(warnings=(f"{SIGSTORE_FILE} was not verified: {reason}",))
    if path.is_symlink() or not path.is_file():
        raise SigstoreInvalid(f"{SIGSTORE_FILE} must be a regular file", details=details)
    return SigstoreCheck(_verified_identity(path.read_bytes(), digest, trusted_root, identities, details))


def _verified_identity(
    bundle_json: bytes,
    digest: BundleDigest,
    trusted_root: Path,
    identities: list[PublisherSigstoreIdentity],
    details: dict[str, str],
) -> str:
    reasons: list[str] = []
    for row in identities:
        try:
            verify_sigstore_bundle(
                signed_artifact(digest.hex),
                bundle_json,
                trusted_root_path=trusted_root,
                policy=SigstorePolicy(row.identity, row.issuer),
            )
        except SigstoreInvalid as exc:
            reasons.append(exc.message)
            continue
        return row.identity
    allowed = [{"identity": row.identity, "issuer": row.issuer} for row in identities]
    raise SigstoreInvalid(
        f"{SIGSTORE_FILE} does not verify for any registered identity: {reasons[-1]}",
        details={**details, "identities": allowed},
        hint=_SIGN_HINT,
    )


def _owned(uow: UnitOfWork, principal: Principal, publisher: str) -> Publisher:
    principal.require_role("maker")
    principal.require("spell:publish")
    act_as(uow.session, principal.user_id)
    return owned_publisher(uow, principal, publisher, claim=False)


def _policy(identity: str, issuer: str) -> SigstorePolicy:
    if not identity or not issuer:
        raise InvalidInput("a Sigstore identity needs a non-empty identity and issuer")
    if not issuer.startswith("https://"):
        raise InvalidInput(
            f"the issuer must be an https:// OIDC issuer URL, not {issuer!r}",
            details={"issuer": issuer},
            hint="e.g. https://token.actions.githubusercontent.com for GitHub Actions",
        )
    return SigstorePolicy(identity, issuer)


def _register_hint(publisher: str) -> str:
    return f"register one: POST /v1/publishers/{publisher}/sigstore-identities (spell publisher sigstore add)"


def _describe(uow: UnitOfWork, row: Publisher) -> PublisherSigstore:
    return PublisherSigstore(row.name, row.sigstore_required, _REPO.sigstore_identities(uow, row.name))
