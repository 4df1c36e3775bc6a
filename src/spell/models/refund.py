"""Refunds an operator made: of a cast's charge (back to the wallet) or of a card top-up (to the card)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base

__all__ = ["Refund"]


class Refund(Base):
    """One refund, written once under the operator's idempotency key with its ledger transaction."""

    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    request_digest: Mapped[str] = mapped_column(String(80))
    target_kind: Mapped[str] = mapped_column(String(10))  # cast | payment
    target_id: Mapped[str] = mapped_column(String(40), index=True)
    user_id: Mapped[str] = mapped_column(String(40), index=True)  # who gets the money back
    currency: Mapped[str] = mapped_column(String(3))
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    maker_micros: Mapped[int] = mapped_column(BigInteger, default=0)  # taken back from the maker
    status: Mapped[str] = mapped_column(String(20))  # succeeded
    provider_ref: Mapped[str | None] = mapped_column(String(100))  # re_… for a card refund
    transaction_id: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(index=True)
