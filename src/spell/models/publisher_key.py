"""Public keys makers register for their publisher name; signatures verify against these."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base

__all__ = ["Publisher", "PublisherKey"]


class Publisher(Base):
    """A publisher name owned by one tenant (the first to register a key for it)."""

    __tablename__ = "publishers"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    # every bundle must carry a spell.sigstore.json signed by one of the registered identities
    sigstore_required: Mapped[bool] = mapped_column(default=False)
    # where supply-chain notices about the publisher's versions are delivered (signed like cast webhooks)
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    # the maker's Stripe Connect account (acct_…): payouts are transferred there when set
    stripe_account_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]


class PublisherKey(Base):
    """One Ed25519 public key (SPKI-DER base64url) of a publisher, active until revoked."""

    __tablename__ = "publisher_keys"
    __table_args__ = (UniqueConstraint("publisher", "key_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    publisher: Mapped[str] = mapped_column(ForeignKey("publishers.name"))
    key_id: Mapped[str] = mapped_column(String(100))
    public_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
