"""Operator actions: bans."""

from __future__ import annotations

from fastapi import APIRouter

from spell.api.deps import CurrentPlatform, CurrentPrincipal
from spell.api.routing import GuardedRoute
from spell.platform.auth.schemas import BanCreate, BanOut

router = APIRouter(route_class=GuardedRoute, tags=["admin"])


@router.post("/v1/admin/bans", status_code=201, response_model=BanOut)
def ban(body: BanCreate, principal: CurrentPrincipal, platform: CurrentPlatform) -> BanOut:
    """Ban a user (by id or email): every route answers them 403 ``USER_BANNED``.

    Admins only (the ``admin`` role with the ``admin`` scope); the audit record names who banned.
    """
    with platform.db.unit_of_work() as uow:
        return BanOut.from_row(
            platform.auth.ban(uow, principal, body.user_id, banned=True, reason=body.reason)
        )


@router.delete("/v1/admin/bans/{user_id}", response_model=BanOut)
def unban(user_id: str, principal: CurrentPrincipal, platform: CurrentPlatform) -> BanOut:
    """Lift a ban."""
    with platform.db.unit_of_work() as uow:
        return BanOut.from_row(platform.auth.ban(uow, principal, user_id, banned=False))
