"""Card payments: hosted checkout and portal pages, off-session top-ups, the Stripe webhook; and the
operator's money actions: refunds and maker payouts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from spell.api.deps import CurrentPlatform, CurrentPrincipal
from spell.api.routing import GuardedRoute
from spell.api.schemas import error_docs
from spell.kit.money import Money
from spell.platform.auth.schemas import Principal
from spell.platform.billing.payouts import run_payouts
from spell.platform.billing.schemas import (
    CheckoutRequest,
    HostedPage,
    PayoutAccount,
    PayoutAccountSet,
    PayoutRun,
    PayoutRunRequest,
    PortalRequest,
    RefundCreate,
    RefundOut,
    RefundPage,
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

# The key is checked by the service (which says how to fix a missing one), so the parameter is
# documented here as required rather than left to the framework's own check.
MONEY_KEY_DOC: dict[str, Any] = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": True,
            "description": "A unique key per intended payment: the same key and request replay the first"
            " result; the same key with another request is 409 IDEMPOTENCY_CONFLICT.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[ -~]+$"},
        }
    ]
}
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", include_in_schema=False)]


def _operator(principal: Principal) -> None:
    """Money actions are for admins: the ``admin`` role with the ``admin`` scope."""
    principal.require_role("admin")
    principal.require("admin")


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


@router.post(
    "/v1/billing/top-ups",
    status_code=201,
    response_model=TopUp,
    openapi_extra=MONEY_KEY_DOC,
    responses={
        200: {"model": TopUp, "description": "A replay: this Idempotency-Key made this top-up before."},
        **error_docs({409: "IDEMPOTENCY_CONFLICT", 422: "IDEMPOTENCY_KEY_REQUIRED, VALIDATION_ERROR"}),
    },
)
def top_up(
    body: TopUpRequest,
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> TopUp:
    """Charge the saved card off-session (402 ``PAYMENT_FAILED`` when declined) and credit the wallet.

    ``Idempotency-Key`` is required: a retried request with the same key and body answers the same
    top-up (200, ``replay``) and never charges twice, even when the first answer was lost.
    """
    principal.require("cast:invoke")
    amount = Money(body.amount_micros, body.currency)
    with platform.db.unit_of_work() as uow:
        made = platform.payments.top_up(uow, principal.user_id, amount, idempotency_key=idempotency_key)
    if made.replay:
        response.status_code = 200
    return made


@router.post(
    "/v1/admin/refunds",
    status_code=201,
    response_model=RefundOut,
    openapi_extra=MONEY_KEY_DOC,
    responses={
        200: {"model": RefundOut, "description": "A replay: this Idempotency-Key made this refund before."},
        **error_docs(
            {
                404: "CHARGE_NOT_FOUND",
                409: "ALREADY_REFUNDED, REFUND_NOT_COVERED, IDEMPOTENCY_CONFLICT",
                422: "REFUND_EXCEEDS_CHARGE, IDEMPOTENCY_KEY_REQUIRED",
            }
        ),
    },
)
def create_refund(
    body: RefundCreate,
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RefundOut:
    """Refund a cast's charge (back to the caster's wallet) or a card top-up (to the card), in full or
    in part; admins only.

    A cast refund reverses the ledger capture: maker and platform give back their shares (what the maker
    was already paid out, the platform bears). A card refund takes the amount out of the wallet and
    refunds it through the payment provider. Idempotent per ``Idempotency-Key``; audited.
    """
    _operator(principal)
    with platform.db.unit_of_work() as uow:
        made = platform.refunds.create(
            uow, body, idempotency_key=idempotency_key, operator_id=principal.user_id
        )
    if made.replay:
        response.status_code = 200
    return made


@router.get("/v1/admin/refunds", response_model=RefundPage)
def list_refunds(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    cast_id: str | None = Query(default=None, max_length=40),
    payment_id: str | None = Query(default=None, max_length=40),
    limit: int = Query(default=50, ge=1, le=500),
) -> RefundPage:
    """Refunds, newest first (of one cast or payment when named); admins only."""
    _operator(principal)
    with platform.db.unit_of_work(write=False) as uow:
        return platform.refunds.list(uow, cast_id=cast_id, payment_id=payment_id, limit=limit)


@router.post(
    "/v1/admin/payouts",
    response_model=PayoutRun,
    responses=error_docs({404: "PUBLISHER_NOT_FOUND", 409: "NOTHING_OWED, PAYOUT_REFUSED"}),
)
def run_payouts_route(
    body: PayoutRunRequest, principal: CurrentPrincipal, platform: CurrentPlatform
) -> PayoutRun:
    """Pay makers what they are owed (their earnings balance), one publisher's maker or all; admins only.

    Each payout moves the owed amount from earnings to paid-out in the ledger and, where the publisher
    has a Stripe Connect account, transfers it; otherwise it is recorded as manual. ``dry_run`` only
    lists what is owed. Retrying is safe: what was paid is no longer owed.
    """
    _operator(principal)
    return run_payouts(
        platform.db,
        platform.payouts,
        publisher=body.publisher,
        dry_run=body.dry_run,
        operator_id=principal.user_id,
    )


@router.put("/v1/admin/publishers/{publisher}/payout-account", response_model=PayoutAccount)
def set_payout_account(
    publisher: str, body: PayoutAccountSet, principal: CurrentPrincipal, platform: CurrentPlatform
) -> PayoutAccount:
    """Set (or, with ``null``, clear) the Stripe Connect account a publisher's payouts go to; admins only."""
    _operator(principal)
    account = PayoutAccount(publisher=publisher, stripe_account_id=body.stripe_account_id)
    with platform.db.unit_of_work() as uow:
        return platform.payouts.set_account(uow, account, operator_id=principal.user_id)


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
