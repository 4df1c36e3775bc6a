"""Webhook signing secrets: one per tenant, stored sealed (AES-GCM) under a key only the server holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base

__all__ = ["WebhookSecret"]


class WebhookSecret(Base):
    """A tenant's current signing secret and, for a grace period after rotation, the one before it."""

    __tablename__ = "webhook_secrets"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)  # nonce + ciphertext + tag
    previous_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
