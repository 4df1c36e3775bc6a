"""Who am I, my tenant, and my API keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field

from spell.api.deps import CurrentPlatform, CurrentPrincipal, blocking
from spell.api.routing import GuardedRoute
from spell.api.schemas import KeyCreated, KeyList, KeyOut, MeOut, TenantOut
from spell.kit.time import to_rfc3339
from spell.models import ApiKey

router = APIRouter(route_class=GuardedRoute, tags=["auth"])


class KeyCreate(BaseModel):
    """A new key's name, scopes and optional expiry."""

    name: str = Field(default="default", min_length=1, max_length=200)
    scopes: list[str] | None = None
    expires_at: AwareDatetime | None = Field(default=None, description="RFC 3339 with Z or an offset")
    test: bool = Field(default=False, strict=True)  # JSON true or false: 1 or "yes" is refused


def key_out(key: ApiKey) -> dict[str, Any]:
    """A key without its secret."""
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "created_at": to_rfc3339(key.created_at),
        "expires_at": to_rfc3339(key.expires_at) if key.expires_at else None,
        "revoked_at": to_rfc3339(key.revoked_at) if key.revoked_at else None,
        "last_used_at": to_rfc3339(key.last_used_at) if key.last_used_at else None,
        "rotated_to": key.rotated_to,
    }


@router.get("/v1/me", response_model=MeOut)
async def me(principal: CurrentPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """The caller: user, tenant, roles and the scopes of this credential."""

    def load() -> dict[str, Any]:
        with platform.db.unit_of_work(write=False) as uow:
            user = platform.auth.get_user(uow, principal.user_id)
            return {
                "user_id": user.id,
                "email": user.email,
                "tenant_id": principal.tenant_id,
                "roles": list(principal.roles),
                "scopes": list(principal.scopes),
                "key_id": principal.key_id,
            }

    return await blocking(load)


@router.get("/v1/tenant", response_model=TenantOut)
async def my_tenant(principal: CurrentPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """The caller's tenant (organization) and its members; needs the ``keys:manage`` scope.

    Members are the users whose home tenant this is (``spell admin create-user --tenant NAME``
    adds one); only the caller's own tenant is ever shown.
    """
    principal.require("keys:manage")

    def load() -> dict[str, Any]:
        with platform.db.unit_of_work(write=False) as uow:
            tenant, members = platform.auth.tenant_members(uow, principal.tenant_id)
            return {
                "id": tenant.id,
                "name": tenant.name,
                "created_at": to_rfc3339(tenant.created_at),
                "members": [
                    {
                        "user_id": user.id,
                        "email": user.email,
                        "roles": list(user.roles),
                        "banned": user.is_banned,
                        "joined_at": to_rfc3339(user.created_at),
                    }
                    for user in members
                ],
            }

    return await blocking(load)


@router.post("/v1/keys", status_code=201, response_model=KeyCreated)
async def create_key(
    body: KeyCreate, principal: CurrentPrincipal, platform: CurrentPlatform
) -> dict[str, Any]:
    """Create a key; the secret (``token``) is in this response only.

    Its scopes are at most those of the calling credential and of the user's roles (403
    ``SCOPE_NOT_ALLOWED`` beyond them); left out, they are the roles' everyday scopes this credential holds.
    """
    principal.require("keys:manage")

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            user = platform.auth.get_user(uow, principal.user_id)
            created = platform.auth.create_key(
                uow,
                user,
                name=body.name,
                scopes=body.scopes,
                expires_at=body.expires_at,
                test=body.test,
                granted_by=principal,
            )
            return {**key_out(created.key), "token": created.token}

    return await blocking(run)


@router.get("/v1/keys", response_model=KeyList)
async def list_keys(principal: CurrentPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """The caller's keys (never their secrets)."""
    principal.require("keys:manage")

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work(write=False) as uow:
            return {"items": [key_out(k) for k in platform.auth.list_keys(uow, principal)]}

    return await blocking(run)


@router.delete("/v1/keys/{key_id}", response_model=KeyOut)
async def revoke_key(key_id: str, principal: CurrentPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """Revoke a key at once."""
    principal.require("keys:manage")

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            return key_out(platform.auth.revoke_key(uow, principal, key_id))

    return await blocking(run)


@router.post("/v1/keys/{key_id}/rotate", status_code=201, response_model=KeyCreated)
async def rotate_key(key_id: str, principal: CurrentPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """A new key with the same scopes; the old one works until the grace period ends.

    403 ``SCOPE_NOT_ALLOWED`` when the key has scopes the calling credential or the user's roles lack.
    """
    principal.require("keys:manage")

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            created = platform.auth.rotate_key(uow, principal, key_id)
            return {**key_out(created.key), "token": created.token}

    return await blocking(run)
