"""Webhook errors: the webhook domain's leaves of the one catalog (tree in ``spell.errors``)."""

from __future__ import annotations

from spell.errors import NotFound

__all__ = ["WebhookDeliveryNotFound", "WebhookEndpointNotFound"]


class WebhookEndpointNotFound(NotFound):
    """No endpoint with that id in the caller's tenant (or it was removed)."""

    code = "WEBHOOK_ENDPOINT_NOT_FOUND"


class WebhookDeliveryNotFound(NotFound):
    """No delivery with that id in the caller's tenant."""

    code = "WEBHOOK_DELIVERY_NOT_FOUND"
