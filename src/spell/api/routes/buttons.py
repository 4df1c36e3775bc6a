"""Buttons: list, create, delete, press."""

from __future__ import annotations

from fastapi import APIRouter, Response

from spell.api.deps import CastingCall, CurrentPlatform, CurrentPrincipal, blocking
from spell.api.routes.casts import CAST_RESPONSES, IDEMPOTENCY_KEY_DOC, start_cast
from spell.api.routing import GuardedRoute
from spell.api.schemas import Deleted
from spell.platform.auth.schemas import Principal
from spell.platform.button.schemas import ButtonBody, ButtonList, ButtonOut, PressBody
from spell.platform.cast.service import CastRequestBody
from spell.platform.server import Platform

router = APIRouter(route_class=GuardedRoute, tags=["buttons"])


@router.get("/v1/buttons", response_model=ButtonList)
def list_buttons(principal: CurrentPrincipal, platform: CurrentPlatform) -> ButtonList:
    """Buttons of your tenant and buttons shared with it."""
    with platform.db.unit_of_work(write=False) as uow:
        return ButtonList(items=[ButtonOut.from_row(b) for b in platform.buttons.visible(uow, principal)])


@router.post("/v1/buttons", status_code=201, response_model=ButtonOut)
def create_button(body: ButtonBody, principal: CurrentPrincipal, platform: CurrentPlatform) -> ButtonOut:
    """Create a button for one of your spells."""
    with platform.db.unit_of_work() as uow:
        return ButtonOut.from_row(platform.buttons.create(uow, principal, body.to_create()))


@router.delete("/v1/buttons/{button_id}", response_model=Deleted)
def delete_button(button_id: str, principal: CurrentPrincipal, platform: CurrentPlatform) -> Deleted:
    """Delete one of your tenant's buttons."""
    with platform.db.unit_of_work() as uow:
        platform.buttons.delete(uow, principal, button_id)
    return Deleted(id=button_id, deleted=True)


@router.post(
    "/v1/buttons/{button_id}/cast",
    status_code=202,
    responses=CAST_RESPONSES,
    openapi_extra=IDEMPOTENCY_KEY_DOC,
)
async def press_button(button_id: str, body: PressBody, call: CastingCall) -> Response:
    """Cast the button's fixed spell@version (same idempotency and ``Prefer: wait`` rules as casting)."""
    request = await blocking(_pressed, call.platform, call.principal, button_id, body)
    return await start_cast(call, request)


def _pressed(platform: Platform, principal: Principal, button_id: str, body: PressBody) -> CastRequestBody:
    with platform.db.unit_of_work(write=False) as uow:
        return platform.buttons.press(uow, principal, button_id, input=body.input, confirmed=body.confirm)
