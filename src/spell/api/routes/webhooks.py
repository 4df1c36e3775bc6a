"""Your tenant's webhook signing secret: read it, rotate it."""

from __future__ import annotations

from fastapi import APIRouter

from spell.api.deps import CurrentPlatform, CurrentPrincipal
from spell.api.routing import GuardedRoute
from spell.platform.webhook.schemas import WebhookSecretOut

router = APIRouter(route_class=GuardedRoute, tags=["webhooks"])


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
