"""Buttons: list, create, delete, press."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from spell.api.deps import CastingPrincipal, CurrentPlatform, CurrentPrincipal, blocking
from spell.api.routes.casts import CAST_RESPONSES, IDEMPOTENCY_KEY_DOC, IdempotencyKey, start_cast
from spell.api.routing import GuardedRoute
from spell.api.schemas import ButtonList, ButtonOut, Deleted
from spell.platform.button.service import ButtonCreate, ButtonService, button_out
from spell.platform.cast.service import CastRequestBody

router = APIRouter(route_class=GuardedRoute, tags=["buttons"])


class ButtonBody(BaseModel):
    """A button: which spell and version, who may press it, and how."""

    id: str = Field(min_length=1, max_length=100)
    spell_id: str = Field(min_length=3, max_length=200)
    version: str = Field(min_length=1, max_length=50)
    label: str = Field(default="", max_length=200)
    allowed_roles: list[str] = Field(default_factory=list)
    allowed_tenants: list[str] = Field(
        default_factory=list, description='Tenant ids, or "*" for every tenant.'
    )
    require_signature: bool = Field(default=True, strict=True)
    require_confirmation: bool = Field(default=False, strict=True)


class PressBody(BaseModel):
    """The input for the button's spell, and the confirmation when the button asks for one."""

    input: Any = Field(default_factory=dict)
    confirm: bool = Field(default=False, strict=True)


@router.get("/v1/buttons", response_model=ButtonList)
async def list_buttons(principal: CurrentPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """Buttons of your tenant and buttons shared with it."""
    service = ButtonService(platform.spells)

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work(write=False) as uow:
            return {"items": [button_out(b) for b in service.visible(uow, principal)]}

    return await blocking(run)


@router.post("/v1/buttons", status_code=201, response_model=ButtonOut)
async def create_button(
    body: ButtonBody, principal: CurrentPrincipal, platform: CurrentPlatform
) -> dict[str, Any]:
    """Create a button for one of your spells."""
    service = ButtonService(platform.spells)
    data = ButtonCreate(
        id=body.id,
        spell_id=body.spell_id,
        version=body.version,
        label=body.label,
        allowed_roles=tuple(body.allowed_roles),
        allowed_tenants=tuple(body.allowed_tenants),
        require_signature=body.require_signature,
        require_confirmation=body.require_confirmation,
    )

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            return button_out(service.create(uow, principal, data))

    return await blocking(run)


@router.delete("/v1/buttons/{button_id}", response_model=Deleted)
async def delete_button(
    button_id: str, principal: CurrentPrincipal, platform: CurrentPlatform
) -> dict[str, Any]:
    """Delete one of your tenant's buttons."""
    service = ButtonService(platform.spells)

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            service.delete(uow, principal, button_id)
            return {"id": button_id, "deleted": True}

    return await blocking(run)


@router.post(
    "/v1/buttons/{button_id}/cast",
    status_code=202,
    responses=CAST_RESPONSES,
    openapi_extra=IDEMPOTENCY_KEY_DOC,
)
async def press_button(
    button_id: str,
    body: PressBody,
    principal: CastingPrincipal,
    platform: CurrentPlatform,
    idempotency_key: IdempotencyKey = None,
    prefer: str | None = Header(default=None),
) -> JSONResponse:
    """Cast the button's fixed spell@version (same idempotency and ``Prefer: wait`` rules as casting)."""
    service = ButtonService(platform.spells)

    def resolve() -> CastRequestBody:
        with platform.db.unit_of_work(write=False) as uow:
            button = service.get(uow, principal, button_id)
            service.check_press(button, principal, confirmed=body.confirm)
            return CastRequestBody(
                spell_id=button.spell_id,
                input=body.input,
                version=button.version,
                button_id=button.id,
                require_signature=button.require_signature,
                as_tenant=button.tenant_id,
            )

    request = await blocking(resolve)
    return await start_cast(platform, principal, request, idempotency_key, prefer)
