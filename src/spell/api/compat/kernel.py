"""The Spell v1 kernel routes, as aliases of our ``/v1`` routes.

Each answers the JSON object of the ``/v1`` route it stands for with ``"ok": true`` added (and
``execution_id`` beside a cast's ``id``); failures answer ``{"ok": false, "error_code", "message"}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from spell.api.compat.access import CallerPrincipal, CastingCaller
from spell.api.compat.errors import CompatRoute
from spell.api.compat.runtime_executions import idempotency_key_or_new
from spell.api.deps import CurrentPlatform
from spell.api.routes.casts import prefer_wait
from spell.kit.money import Money
from spell.models import TERMINAL_STATUSES
from spell.platform.auth.schemas import BanCreate, BanOut, MeOut
from spell.platform.billing.schemas import CheckoutRequest, PortalRequest, TopUpRequest
from spell.platform.cast.schemas import CastOut
from spell.platform.cast.service import CastRequestBody

__all__ = ["router"]

router = APIRouter(route_class=CompatRoute, include_in_schema=False)


def _ok(model: BaseModel) -> dict[str, Any]:
    return {"ok": True, **model.model_dump(mode="json")}


class ExecuteBody(BaseModel):
    """A spell, an optional exact version, its input and an optional webhook URL."""

    spell_id: str = Field(min_length=3, max_length=200)
    version: str | None = Field(default=None, max_length=50)
    input: Any = Field(default_factory=dict)
    webhook_url: str | None = Field(default=None, max_length=2000)


class EstimateBody(BaseModel):
    """Which spell and version to price (default: the latest)."""

    spell_id: str = Field(min_length=3, max_length=200)
    version: str | None = Field(default=None, max_length=50)


class BanBody(BanCreate):
    """Who to ban and why; ``banned: false`` lifts the ban."""

    banned: bool = Field(default=True, strict=True)


@router.post("/api/spell/execute", status_code=202)
async def execute(
    body: ExecuteBody,
    principal: CastingCaller,
    platform: CurrentPlatform,
    idempotency_key: Annotated[str | None, Header()] = None,
    prefer: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """``POST /v1/spells/{id}/cast``: the cast with ``ok`` and ``execution_id``; 200 when it ended within
    ``Prefer: wait=N``, else 202. Without ``Idempotency-Key`` every request is a new cast."""
    request = CastRequestBody(
        spell_id=body.spell_id, input=body.input, version=body.version, webhook_url=body.webhook_url
    )
    wait = prefer_wait(prefer, platform.settings.max_wait_seconds)
    key = idempotency_key_or_new(idempotency_key)
    cast, replay = await platform.orchestrator.cast(principal, request, key, wait_s=wait)
    answer = {
        "ok": True,
        "execution_id": cast.id,
        **CastOut.from_row(cast, replay=replay).model_dump(mode="json"),
    }
    status = 200 if cast.status in TERMINAL_STATUSES else 202
    return JSONResponse(answer, status_code=status, headers={"Location": f"/v1/casts/{cast.id}"})


@router.post("/api/spell/estimate")
def estimate(body: EstimateBody, principal: CallerPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """``POST /v1/spells/{id}/estimate``: the most one cast can cost, and the caller's balance."""
    with platform.db.unit_of_work(write=False) as uow:
        return _ok(platform.quotes.estimate(uow, principal, body.spell_id, body.version))


@router.get("/api/me")
def me(principal: CallerPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """``GET /v1/me``: user, tenant, roles and the scopes of this credential."""
    with platform.db.unit_of_work(write=False) as uow:
        return _ok(MeOut.from_principal(principal, platform.auth.get_user(uow, principal.user_id)))


@router.post("/api/admin/ban")
def ban(body: BanBody, principal: CallerPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """``POST /v1/admin/bans`` (or, with ``banned: false``, ``DELETE /v1/admin/bans/{user_id}``)."""
    with platform.db.unit_of_work() as uow:
        user = platform.auth.ban(uow, principal, body.user_id, banned=body.banned, reason=body.reason)
        return _ok(BanOut.from_row(user))


@router.get("/api/billing/budget")
def budget(principal: CallerPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """``GET /v1/budget``: caps, what each window spent and reserved, and the prepaid balance."""
    principal.require("cast:invoke")
    with platform.db.unit_of_work(write=False) as uow:
        return _ok(platform.budgets.view(uow, principal.user_id))


@router.post("/api/billing/checkout-url")
def checkout_url(
    body: CheckoutRequest, principal: CallerPrincipal, platform: CurrentPlatform
) -> dict[str, Any]:
    """``POST /v1/billing/checkout-url``: a hosted page to top up the wallet or save a card."""
    principal.require("cast:invoke")
    top_up = Money(body.top_up_micros, body.currency) if body.top_up_micros else None
    with platform.db.unit_of_work() as uow:
        page = platform.payments.checkout_url(
            uow, principal.user_id, success_url=body.success_url, cancel_url=body.cancel_url, top_up=top_up
        )
        return _ok(page)


@router.post("/api/billing/portal-url")
def portal_url(body: PortalRequest, principal: CallerPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """``POST /v1/billing/portal-url``: the provider's page for saved cards and receipts."""
    principal.require("cast:invoke")
    with platform.db.unit_of_work() as uow:
        return _ok(platform.payments.portal_url(uow, principal.user_id, return_url=body.return_url))


@router.post("/api/billing/top-ups", status_code=201)
def top_up(
    body: TopUpRequest,
    principal: CallerPrincipal,
    platform: CurrentPlatform,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    """``POST /v1/billing/top-ups``: charge the saved card and credit the wallet (402 when declined);
    ``Idempotency-Key`` is required, and a retry with it never charges twice."""
    principal.require("cast:invoke")
    amount = Money(body.amount_micros, body.currency)
    with platform.db.unit_of_work() as uow:
        return _ok(platform.payments.top_up(uow, principal.user_id, amount, idempotency_key=idempotency_key))
