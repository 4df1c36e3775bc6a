"""Wire shapes of webhook secrets, endpoints and deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from spell.kit.wire import Rfc3339, Rfc3339OrNone, RowModel
from spell.models import WebhookAttempt, WebhookDelivery
from spell.platform.webhook.service import redact_url

__all__ = [
    "WebhookAttemptOut",
    "WebhookDeliveryList",
    "WebhookDeliveryOut",
    "WebhookEndpointCreate",
    "WebhookEndpointCreated",
    "WebhookEndpointList",
    "WebhookEndpointOut",
    "WebhookSecretOut",
]


class WebhookSecretOut(RowModel):
    """The secret that signs your tenant's webhooks (Standard Webhooks ``whsec_`` form)."""

    secret: str
    created_at: Rfc3339
    rotated_at: Rfc3339OrNone
    previous_valid_until: Rfc3339OrNone


class WebhookEndpointCreate(BaseModel):
    """A receiver to register: its URL (public https), the events it takes (none listed: all) and a note."""

    url: str = Field(min_length=1, max_length=2000)
    events: list[str] = Field(default_factory=list, max_length=20)
    description: str = Field(default="", max_length=200)


class WebhookEndpointOut(RowModel):
    """A registered endpoint (never its secret)."""

    id: str
    url: str
    description: str
    events: list[str]
    created_at: Rfc3339
    rotated_at: Rfc3339OrNone


class WebhookEndpointCreated(WebhookEndpointOut):
    """A registered endpoint and its signing secret, shown in this response only."""

    secret: str


class WebhookEndpointList(BaseModel):
    """Your tenant's endpoints, oldest first."""

    items: list[WebhookEndpointOut]


class WebhookAttemptOut(RowModel):
    """One attempt: the receiver's HTTP status, or why there was none, and how long it took."""

    number: int
    at: Rfc3339
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookDeliveryOut(RowModel):
    """One event for one receiver; ``id`` is the ``webhook-id`` header of every attempt."""

    id: str
    endpoint_id: str | None
    url: str
    event_type: str
    status: str
    attempt_count: int
    next_attempt_at: Rfc3339OrNone
    last_status_code: int | None
    last_error: str | None
    created_at: Rfc3339
    delivered_at: Rfc3339OrNone
    payload: dict[str, Any]
    attempts: list[WebhookAttemptOut] = Field(default_factory=list)

    @classmethod
    def with_attempts(cls, row: WebhookDelivery, attempts: Sequence[WebhookAttempt]) -> WebhookDeliveryOut:
        """The delivery and its attempt log, oldest attempt first."""
        shown = cls.from_row(row)
        shown.attempts = [WebhookAttemptOut.from_row(attempt) for attempt in attempts]
        shown.url = redact_url(row.url)
        return shown


class WebhookDeliveryList(BaseModel):
    """A page of your tenant's deliveries, newest first."""

    items: list[WebhookDeliveryOut]
    next_cursor: str | None
