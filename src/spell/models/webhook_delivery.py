"""The webhook outbox: one row per event and receiver, written with the change it tells of, and a log
of every attempt to deliver it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base, JsonValue

__all__ = ["WebhookAttempt", "WebhookDelivery"]


class WebhookDelivery(Base):
    """One event for one receiver: a tenant's endpoint, or the ``webhook_url`` a cast was created with.

    ``id`` is the Standard Webhooks ``webhook-id``: the same on every attempt, so receivers de-duplicate.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_tenant_id_id", "tenant_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    endpoint_id: Mapped[str | None] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonValue)
    status: Mapped[str] = mapped_column(String(20))  # pending, delivered, failed
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    # Retries since it was last (re)delivered by hand: the position in the retry schedule.
    retry_index: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """One try: when, what the receiver answered (or why nothing came back) and how long it took."""

    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
