"""Card payments: hosted checkout and portal pages, off-session top-ups, and the Stripe webhook."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field

from spell.api.deps import CurrentPlatform, CurrentPrincipal, blocking, get_platform
from spell.api.routing import GuardedRoute
from spell.api.schemas import error_docs
from spell.kit.money import MAX_MICROS, Money
from spell.models import User
from spell.platform.billing.payments import PaymentService

router = APIRouter(
    route_class=GuardedRoute,
    tags=["billing"],
    responses=error_docs(
        {
            400: "WEBHOOK_SIGNATURE_INVALID",
            402: "PAYMENT_FAILED",
            503: "PAYMENTS_UNAVAILABLE: no card processor configured, or it cannot be reached (Retry-After)",
        }
    ),
)


class CheckoutRequest(BaseModel):
    """A top-up of ``top_up_micros`` (whole cents), or saving a card when it is omitted."""

    success_url: str = Field(min_length=1, max_length=2000)
    cancel_url: str = Field(min_length=1, max_length=2000)
    top_up_micros: int | None = Field(default=None, gt=0, le=MAX_MICROS)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class PortalRequest(BaseModel):
    """Where the portal sends the user back to."""

    return_url: str = Field(min_length=1, max_length=2000)


class TopUpRequest(BaseModel):
    """Charge the saved card now and credit the wallet."""

    amount_micros: int = Field(gt=0, le=MAX_MICROS)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


def _email(uow: Any, user_id: str) -> str | None:
    user = uow.session.get(User, user_id)
    return user.email if user else None


@router.post("/v1/billing/checkout-url")
async def checkout_url(
    body: CheckoutRequest, principal: CurrentPrincipal, platform: CurrentPlatform
) -> dict[str, str]:
    """A hosted checkout page: top up the wallet, or save a card (SetupIntent) for off-session charges."""
    principal.require("cast:invoke")
    top_up = Money(body.top_up_micros, body.currency) if body.top_up_micros else None

    def run() -> str:
        with platform.db.unit_of_work() as uow:
            payments = PaymentService(uow.session, platform.payments)
            return payments.checkout_url(
                principal.user_id,
                _email(uow, principal.user_id),
                success_url=body.success_url,
                cancel_url=body.cancel_url,
                top_up=top_up,
            )

    return {"url": await blocking(run)}


@router.post("/v1/billing/portal-url")
async def portal_url(
    body: PortalRequest, principal: CurrentPrincipal, platform: CurrentPlatform
) -> dict[str, str]:
    """The payment provider's page for managing saved cards and receipts."""
    principal.require("cast:invoke")

    def run() -> str:
        with platform.db.unit_of_work() as uow:
            payments = PaymentService(uow.session, platform.payments)
            return payments.portal_url(
                principal.user_id, _email(uow, principal.user_id), return_url=body.return_url
            )

    return {"url": await blocking(run)}


@router.post("/v1/billing/top-ups", status_code=201)
async def top_up(
    body: TopUpRequest, principal: CurrentPrincipal, platform: CurrentPlatform
) -> dict[str, Any]:
    """Charge the saved card off-session (402 ``PAYMENT_FAILED`` when declined) and credit the wallet."""
    principal.require("cast:invoke")

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            payments = PaymentService(uow.session, platform.payments)
            record = payments.top_up(
                principal.user_id, _email(uow, principal.user_id), Money(body.amount_micros, body.currency)
            )
            return {
                "id": record.id,
                "status": record.status,
                "payment_ref": record.provider_ref,
                "amount_micros": record.amount_micros,
                "currency": record.currency,
            }

    return await blocking(run)


@router.post(
    "/v1/webhooks/stripe",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object", "description": "A Stripe event"}}},
        }
    },
)
async def stripe_webhook(
    request: Request, stripe_signature: str | None = Header(default=None)
) -> dict[str, Any]:
    """Stripe events, verified with the endpoint's signing secret and applied once per event id.

    Handled: ``checkout.session.completed``, ``payment_intent.succeeded``, ``payment_intent.payment_failed``,
    ``charge.refunded``, ``charge.dispute.created``; others are acknowledged. A bad signature → 400.
    A verified event that cannot be read is recorded (audit ``payment.webhook_malformed``), moves no
    money and is acknowledged with its ``problem``, so Stripe does not resend it for days.
    """
    platform = await get_platform(request)
    payload = await request.body()

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            return PaymentService(uow.session, platform.payments).handle_webhook(payload, stripe_signature)

    return {"received": True, **await blocking(run)}
