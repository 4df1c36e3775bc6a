"""Card payments: hosted checkout and portal pages, off-session top-ups, and the Stripe webhook."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from spell.api.deps import CurrentPlatform, CurrentPrincipal
from spell.api.routing import GuardedRoute
from spell.api.schemas import error_docs
from spell.kit.money import Money
from spell.platform.billing.schemas import (
    CheckoutRequest,
    HostedPage,
    PortalRequest,
    TopUp,
    TopUpRequest,
    WebhookReceipt,
)

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


async def _raw_body(request: Request) -> bytes:
    """The bytes as sent: the provider's signature covers them exactly."""
    return await request.body()


@router.post("/v1/billing/checkout-url", response_model=HostedPage)
def checkout_url(body: CheckoutRequest, principal: CurrentPrincipal, platform: CurrentPlatform) -> HostedPage:
    """A hosted checkout page: top up the wallet, or save a card (SetupIntent) for off-session charges."""
    principal.require("cast:invoke")
    top_up = Money(body.top_up_micros, body.currency) if body.top_up_micros else None
    with platform.db.unit_of_work() as uow:
        return platform.payments.checkout_url(
            uow, principal.user_id, success_url=body.success_url, cancel_url=body.cancel_url, top_up=top_up
        )


@router.post("/v1/billing/portal-url", response_model=HostedPage)
def portal_url(body: PortalRequest, principal: CurrentPrincipal, platform: CurrentPlatform) -> HostedPage:
    """The payment provider's page for managing saved cards and receipts."""
    principal.require("cast:invoke")
    with platform.db.unit_of_work() as uow:
        return platform.payments.portal_url(uow, principal.user_id, return_url=body.return_url)


@router.post("/v1/billing/top-ups", status_code=201, response_model=TopUp)
def top_up(body: TopUpRequest, principal: CurrentPrincipal, platform: CurrentPlatform) -> TopUp:
    """Charge the saved card off-session (402 ``PAYMENT_FAILED`` when declined) and credit the wallet."""
    principal.require("cast:invoke")
    with platform.db.unit_of_work() as uow:
        return platform.payments.top_up(uow, principal.user_id, Money(body.amount_micros, body.currency))


@router.post(
    "/v1/webhooks/stripe",
    response_model=WebhookReceipt,
    response_model_exclude_none=True,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object", "description": "A Stripe event"}}},
        }
    },
)
def stripe_webhook(
    payload: Annotated[bytes, Depends(_raw_body)],
    platform: CurrentPlatform,
    stripe_signature: str | None = Header(default=None),
) -> WebhookReceipt:
    """Stripe events, verified with the endpoint's signing secret and applied once per event id.

    Handled: ``checkout.session.completed``, ``payment_intent.succeeded``, ``payment_intent.payment_failed``,
    ``charge.refunded``, ``charge.dispute.created``; others are acknowledged. A bad signature → 400.
    A verified event that cannot be read is recorded (audit ``payment.webhook_malformed``), moves no
    money and is acknowledged with its ``problem``, so Stripe does not resend it for days.
    """
    with platform.db.unit_of_work() as uow:
        return platform.payments.handle_webhook(uow, payload, stripe_signature)
