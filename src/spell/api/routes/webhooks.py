"""Your tenant's webhooks: the signing secret, endpoints with their own secrets, and the delivery log."""

from __future__ import annotations

from fastapi import APIRouter

from spell.api.deps import CurrentPlatform, CurrentPrincipal
from spell.api.routing import GuardedRoute
from spell.platform.webhook.schemas import (
    WebhookDeliveryList,
    WebhookDeliveryOut,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointList,
    WebhookEndpointOut,
    WebhookSecretOut,
)

router = APIRouter(route_class=GuardedRoute, tags=["webhooks"])

_SCOPE = "keys:manage"  # webhook secrets and endpoints are credentials of the tenant


@router.get("/v1/webhooks/secret", response_model=WebhookSecretOut)
def get_webhook_secret(principal: CurrentPrincipal, platform: CurrentPlatform) -> WebhookSecretOut:
    """Your tenant's webhook signing secret (made on first request); verify deliveries with it.

    Every delivery carries ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers
    (Standard Webhooks), so any stock verifier checks it. Needs the ``keys:manage`` scope.
    """
    with platform.db.unit_of_work() as uow:
        return WebhookSecretOut.from_row(platform.webhook_secrets.show(uow, principal))


@router.post("/v1/webhooks/secret/rotate", response_model=WebhookSecretOut)
def rotate_webhook_secret(principal: CurrentPrincipal, platform: CurrentPlatform) -> WebhookSecretOut:
    """Replace your tenant's webhook secret; the previous one also signs until ``previous_valid_until``."""
    with platform.db.unit_of_work() as uow:
        return WebhookSecretOut.from_row(platform.webhook_secrets.rotate(uow, principal))


@router.post("/v1/webhooks/endpoints", status_code=201, response_model=WebhookEndpointCreated)
def create_webhook_endpoint(
    body: WebhookEndpointCreate, principal: CurrentPrincipal, platform: CurrentPlatform
) -> WebhookEndpointCreated:
    """Register a receiver for your tenant's events; its signing ``secret`` is in this response only.

    ``events`` picks what it receives (``cast.queued``, ``cast.running``, ``cast.progress``,
    ``cast.succeeded``, ``cast.failed``, ``cast.timeout``, ``cast.canceled``, ``cast.aborted``,
    ``cast.refunded``); empty means all. The URL follows the webhook egress rules (public https).
    Needs the ``keys:manage`` scope.
    """
    principal.require(_SCOPE)
    with platform.db.unit_of_work() as uow:
        row, secret = platform.webhooks.endpoints.add(
            uow,
            principal.tenant_id,
            body.url,
            events=body.events,
            description=body.description,
            actor_id=principal.user_id,
        )
        return WebhookEndpointCreated.model_validate(
            {**WebhookEndpointOut.from_row(row).model_dump(), "secret": secret}
        )


@router.get("/v1/webhooks/endpoints", response_model=WebhookEndpointList)
def list_webhook_endpoints(principal: CurrentPrincipal, platform: CurrentPlatform) -> WebhookEndpointList:
    """Your tenant's endpoints, oldest first (never their secrets). Needs the ``keys:manage`` scope."""
    principal.require(_SCOPE)
    with platform.db.unit_of_work(write=False) as uow:
        rows = platform.webhooks.endpoints.list_for(uow, principal.tenant_id)
        return WebhookEndpointList(items=[WebhookEndpointOut.from_row(row) for row in rows])


@router.delete("/v1/webhooks/endpoints/{endpoint_id}", status_code=204)
def delete_webhook_endpoint(endpoint_id: str, principal: CurrentPrincipal, platform: CurrentPlatform) -> None:
    """Remove an endpoint: nothing more is sent to it and its pending deliveries fail; its log stays.

    404 ``WEBHOOK_ENDPOINT_NOT_FOUND`` for an id not of your tenant. Needs the ``keys:manage`` scope.
    """
    principal.require(_SCOPE)
    with platform.db.unit_of_work() as uow:
        platform.webhooks.endpoints.remove(uow, principal.tenant_id, endpoint_id, actor_id=principal.user_id)


@router.post("/v1/webhooks/endpoints/{endpoint_id}/rotate", response_model=WebhookEndpointCreated)
def rotate_webhook_endpoint_secret(
    endpoint_id: str, principal: CurrentPrincipal, platform: CurrentPlatform
) -> WebhookEndpointCreated:
    """A new signing secret for the endpoint (in this response only); the previous one co-signs for
    24 hours so receivers can switch without dropping deliveries. Needs the ``keys:manage`` scope."""
    principal.require(_SCOPE)
    with platform.db.unit_of_work() as uow:
        row, secret = platform.webhooks.endpoints.rotate(
            uow, principal.tenant_id, endpoint_id, actor_id=principal.user_id
        )
        return WebhookEndpointCreated.model_validate(
            {**WebhookEndpointOut.from_row(row).model_dump(), "secret": secret}
        )


@router.get("/v1/webhooks/deliveries", response_model=WebhookDeliveryList)
def list_webhook_deliveries(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    endpoint: str | None = None,
    status: str | None = None,
    event: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> WebhookDeliveryList:
    """Your tenant's deliveries, newest first, each with its attempts (when, HTTP status or error,
    duration). Filter by ``endpoint`` id, ``status`` (``pending``, ``delivered``, ``failed``) and
    ``event`` type. Needs the ``keys:manage`` scope."""
    principal.require(_SCOPE)
    with platform.db.unit_of_work(write=False) as uow:
        page, next_cursor = platform.webhooks.deliveries(
            uow,
            principal.tenant_id,
            endpoint_id=endpoint,
            status=status,
            event_type=event,
            limit=limit,
            cursor=cursor,
        )
        items = [WebhookDeliveryOut.with_attempts(row, attempts) for row, attempts in page]
    return WebhookDeliveryList(items=items, next_cursor=next_cursor)


@router.post(
    "/v1/webhooks/deliveries/{delivery_id}/redeliver", status_code=202, response_model=WebhookDeliveryOut
)
def redeliver_webhook(
    delivery_id: str, principal: CurrentPrincipal, platform: CurrentPlatform
) -> WebhookDeliveryOut:
    """Send a delivery again now, with the same ``webhook-id`` and body and a fresh retry schedule;
    its log keeps the earlier attempts. 404 ``WEBHOOK_DELIVERY_NOT_FOUND`` for an id not of your
    tenant. Needs the ``keys:manage`` scope."""
    principal.require(_SCOPE)
    with platform.db.unit_of_work() as uow:
        row = platform.webhooks.redeliver(uow, principal.tenant_id, delivery_id)
        return WebhookDeliveryOut.with_attempts(row, platform.webhooks.attempts(uow, delivery_id))
