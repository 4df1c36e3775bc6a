"""Your tenant's webhook signing secret: read it, rotate it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from spell.api.deps import CurrentPlatform, CurrentPrincipal, blocking
from spell.api.routing import GuardedRoute
from spell.kit.time import to_rfc3339
from spell.platform.webhook.secret import TenantWebhookSecret

router = APIRouter(route_class=GuardedRoute, tags=["webhooks"])


class WebhookSecretOut(BaseModel):
    """The secret that signs your tenant's webhooks (Standard Webhooks ``whsec_`` form)."""

    secret: str
    created_at: str
    rotated_at: str | None
    previous_valid_until: str | None


def _out(found: TenantWebhookSecret) -> dict[str, Any]:
    return {
        "secret": found.secret,
        "created_at": to_rfc3339(found.created_at),
        "rotated_at": to_rfc3339(found.rotated_at) if found.rotated_at else None,
        "previous_valid_until": (
            to_rfc3339(found.previous_valid_until) if found.previous_valid_until else None
        ),
    }


@router.get("/v1/webhooks/secret", response_model=WebhookSecretOut)
async def get_webhook_secret(principal: CurrentPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """Your tenant's webhook signing secret (made on first request); verify deliveries with it.

    Every delivery carries ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers
    (Standard Webhooks), so any stock verifier checks it. Needs the ``keys:manage`` scope.
    """

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            return _out(platform.webhook_secrets.show(uow, principal))

    return await blocking(run)


@router.post("/v1/webhooks/secret/rotate", response_model=WebhookSecretOut)
async def rotate_webhook_secret(principal: CurrentPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """Replace your tenant's webhook secret; the previous one also signs until ``previous_valid_until``."""

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            return _out(platform.webhook_secrets.rotate(uow, principal))

    return await blocking(run)
