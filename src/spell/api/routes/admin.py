"""Operator actions: bans."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from spell.api.deps import CurrentPlatform, CurrentPrincipal, blocking
from spell.api.routing import GuardedRoute
from spell.api.schemas import BanOut
from spell.errors import PermissionDenied

router = APIRouter(route_class=GuardedRoute, tags=["admin"])


class BanCreate(BaseModel):
    """Who to ban and why."""

    user_id: str = Field(min_length=1, max_length=320)
    reason: str | None = Field(default=None, max_length=500)


@router.post("/v1/admin/bans", status_code=201, response_model=BanOut)
async def ban(body: BanCreate, principal: CurrentPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """Ban a user (by id or email): every route answers them 403 ``USER_BANNED``.

    Admins only (the ``admin`` role with the ``admin`` scope); the audit record names who banned.
    """
    if not principal.is_admin:
        raise PermissionDenied("only admins ban users")

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            user = platform.auth.find_user(uow, body.user_id)
            platform.auth.set_ban(uow, user.id, banned=True, reason=body.reason, actor_id=principal.user_id)
            return {"user_id": user.id, "is_banned": True, "reason": body.reason}

    return await blocking(run)


@router.delete("/v1/admin/bans/{user_id}", response_model=BanOut)
async def unban(user_id: str, principal: CurrentPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """Lift a ban."""
    if not principal.is_admin:
        raise PermissionDenied("only admins lift bans")

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            user = platform.auth.find_user(uow, user_id)
            platform.auth.set_ban(uow, user.id, banned=False, actor_id=principal.user_id)
            return {"user_id": user.id, "is_banned": False}

    return await blocking(run)
