"""Payments: provider customers, payments, seen webhook events, and per-spell revenue shares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base

__all__ = ["PaymentCustomer", "PaymentRecord", "RevenueShare", "WebhookEvent"]


class PaymentCustomer(Base):
    """The payment provider's customer of one user."""

    __tablename__ = "payment_customers"

    user_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    customer_ref: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]


class PaymentRecord(Base):
    """One money movement through the provider.

    A top-up carries the caller's ``Idempotency-Key`` and the digest of its request: the same key
    replays the record, and the provider's own idempotency key is derived from (user, key).
    """

    __tablename__ = "payment_records"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_ref: Mapped[str | None] = mapped_column(String(100), unique=True)  # pi_… / re_…
    kind: Mapped[str] = mapped_column(String(20))  # topup | refund | dispute
    currency: Mapped[str] = mapped_column(String(3))
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    refunded_micros: Mapped[int] = mapped_column(BigInteger, default=0)  # what the wallet gave back so far
    status: Mapped[str] = mapped_column(String(20))  # pending | succeeded | failed | refunded | disputed
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    request_digest: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookEvent(Base):
    """A provider event we have handled; a redelivery finds its id here and does nothing."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # the provider's event id
    provider: Mapped[str] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(String(60))
    received_at: Mapped[datetime]


class RevenueShare(Base):
    """An operator's override of the maker's share of one spell's revenue, in basis points."""

    __tablename__ = "revenue_shares"

    spell_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    maker_share_bps: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime]
