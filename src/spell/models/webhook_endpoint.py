"""Webhook endpoints a tenant registered: where its events go, each with a signing secret of its own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base, JsonValue

__all__ = ["WebhookEndpoint"]


class WebhookEndpoint(Base):
    """One receiver URL of a tenant; removed endpoints stay (``removed_at``) so their log stays readable."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(200), default="")
    # Event types it receives (``cast.succeeded``…); empty: every event.
    events: Mapped[list[Any]] = mapped_column(JsonValue)
    # Sealed like the tenant's secret (AES-GCM, bound to this endpoint's id): it must sign, so no hash.
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    previous_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
