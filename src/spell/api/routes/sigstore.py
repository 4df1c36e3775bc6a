"""A publisher's Sigstore identities and whether it requires them (its own tenant's makers only)."""

from __future__ import annotations

from fastapi import APIRouter

from spell.api.deps import CurrentPlatform, CurrentPrincipal
from spell.api.routing import GuardedRoute
from spell.api.schemas import error_docs
from spell.platform.spell import sigstore
from spell.platform.spell.schemas import (
    SigstoreIdentityCreate,
    SigstoreIdentityOut,
    SigstorePolicyOut,
    SigstorePolicyUpdate,
)

router = APIRouter(route_class=GuardedRoute, tags=["spells"])

_IDENTITIES = "/v1/publishers/{publisher}/sigstore-identities"


_OWNER = "TENANT_FORBIDDEN (another tenant's publisher), ROLE_REQUIRED, FORBIDDEN (no spell:publish)"


@router.post(
    _IDENTITIES,
    status_code=201,
    response_model=SigstoreIdentityOut,
    responses=error_docs({403: _OWNER, 409: "ALREADY_EXISTS (registered and active)"}),
)
def register_sigstore_identity(
    publisher: str, body: SigstoreIdentityCreate, principal: CurrentPrincipal, platform: CurrentPlatform
) -> SigstoreIdentityOut:
    """Allow an identity and OIDC issuer to sign the publisher's bundles with Sigstore (409 if active)."""
    with platform.db.unit_of_work() as uow:
        row = sigstore.register_identity(
            uow, principal, publisher, identity=body.identity, issuer=body.issuer
        )
        return SigstoreIdentityOut.from_row(row)


@router.get(_IDENTITIES, response_model=SigstorePolicyOut, responses=error_docs({403: _OWNER}))
def list_sigstore_identities(
    publisher: str, principal: CurrentPrincipal, platform: CurrentPlatform
) -> SigstorePolicyOut:
    """The publisher's Sigstore policy: whether it is required, and every identity (revoked ones too)."""
    with platform.db.unit_of_work(write=False) as uow:
        return SigstorePolicyOut.of(sigstore.list_identities(uow, principal, publisher))


@router.delete(
    _IDENTITIES + "/{identity_id}",
    response_model=SigstoreIdentityOut,
    responses=error_docs({403: _OWNER, 404: "NOT_FOUND (no such identity for this publisher)"}),
)
def revoke_sigstore_identity(
    publisher: str, identity_id: str, principal: CurrentPrincipal, platform: CurrentPlatform
) -> SigstoreIdentityOut:
    """Revoke an identity: bundles it signed no longer publish."""
    with platform.db.unit_of_work() as uow:
        return SigstoreIdentityOut.from_row(sigstore.revoke_identity(uow, principal, publisher, identity_id))


@router.put(
    "/v1/publishers/{publisher}/sigstore-policy",
    response_model=SigstorePolicyOut,
    responses=error_docs({403: _OWNER, 409: "CONFLICT (no active identity, or no pinned trusted root)"}),
)
def set_sigstore_policy(
    publisher: str, body: SigstorePolicyUpdate, principal: CurrentPrincipal, platform: CurrentPlatform
) -> SigstorePolicyOut:
    """Require (or stop requiring) a verified ``spell.sigstore.json`` on every publish.

    Requiring is refused (409) while no identity is active or the server pins no trusted root.
    """
    root = platform.spells.policy.supply.sigstore_trusted_root
    with platform.db.unit_of_work() as uow:
        policy = sigstore.set_required(uow, principal, publisher, required=body.required, trusted_root=root)
        return SigstorePolicyOut.of(policy)
