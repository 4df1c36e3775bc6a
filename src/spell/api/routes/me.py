"""Who am I, my tenant, and my API keys."""

from __future__ import annotations

from fastapi import APIRouter

from spell.api.deps import CurrentPlatform, CurrentPrincipal
from spell.api.routing import GuardedRoute
from spell.platform.auth.schemas import KeyCreate, KeyCreated, KeyList, KeyOut, MeOut, TenantOut

router = APIRouter(route_class=GuardedRoute, tags=["auth"])


@router.get("/v1/me", response_model=MeOut)
def me(principal: CurrentPrincipal, platform: CurrentPlatform) -> MeOut:
    """The caller: user, tenant, roles and the scopes of this credential."""
    with platform.db.unit_of_work(write=False) as uow:
        return MeOut.from_principal(principal, platform.auth.get_user(uow, principal.user_id))


@router.get("/v1/tenant", response_model=TenantOut)
def my_tenant(principal: CurrentPrincipal, platform: CurrentPlatform) -> TenantOut:
    """The caller's tenant (organization) and its members; needs the ``keys:manage`` scope.

    Members are the users whose home tenant this is (``spell admin create-user --tenant NAME``
    adds one); only the caller's own tenant is ever shown.
    """
    with platform.db.unit_of_work(write=False) as uow:
        return TenantOut.from_rows(*platform.auth.own_tenant(uow, principal))


@router.post("/v1/keys", status_code=201, response_model=KeyCreated)
def create_key(body: KeyCreate, principal: CurrentPrincipal, platform: CurrentPlatform) -> KeyCreated:
    """Create a key; the secret (``token``) is in this response only.

    Its scopes are at most those of the calling credential and of the user's roles (403
    ``SCOPE_NOT_ALLOWED`` beyond them); left out, they are the roles' everyday scopes this credential holds.
    """
    with platform.db.unit_of_work() as uow:
        created = platform.auth.issue_key(
            uow, principal, name=body.name, scopes=body.scopes, expires_at=body.expires_at, test=body.test
        )
        return KeyCreated.from_created(created.key, created.token)


@router.get("/v1/keys", response_model=KeyList)
def list_keys(principal: CurrentPrincipal, platform: CurrentPlatform) -> KeyList:
    """The caller's keys (never their secrets)."""
    with platform.db.unit_of_work(write=False) as uow:
        return KeyList(items=[KeyOut.from_row(key) for key in platform.auth.list_keys(uow, principal)])


@router.delete("/v1/keys/{key_id}", response_model=KeyOut)
def revoke_key(key_id: str, principal: CurrentPrincipal, platform: CurrentPlatform) -> KeyOut:
    """Revoke a key at once."""
    with platform.db.unit_of_work() as uow:
        return KeyOut.from_row(platform.auth.revoke_key(uow, principal, key_id))


@router.post("/v1/keys/{key_id}/rotate", status_code=201, response_model=KeyCreated)
def rotate_key(key_id: str, principal: CurrentPrincipal, platform: CurrentPlatform) -> KeyCreated:
    """A new key with the same scopes; the old one works until the grace period ends.

    403 ``SCOPE_NOT_ALLOWED`` when the key has scopes the calling credential or the user's roles lack.
    """
    with platform.db.unit_of_work() as uow:
        created = platform.auth.rotate_key(uow, principal, key_id)
        return KeyCreated.from_created(created.key, created.token)
