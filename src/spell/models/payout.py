"""Payouts: what makers were paid from their earnings, by transfer or by hand."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base

__all__ = ["Payout"]


class Payout(Base):
    """One payout of a maker's earnings in one currency.

    ``paid_before_micros`` is what the maker had been paid out in that currency before this payout:
    unique per maker and currency, it names the payout's place in the sequence, so a retried run can
    never pay the same position twice (the provider's idempotency key is derived from it too).
    """

    __tablename__ = "payouts"
    __table_args__ = (UniqueConstraint("maker_id", "currency", "paid_before_micros"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    maker_id: Mapped[str] = mapped_column(String(40), index=True)  # the tenant owning the spells
    publisher: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    paid_before_micros: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(20))  # stripe_transfer | manual
    destination: Mapped[str | None] = mapped_column(String(100))  # acct_…
    provider_ref: Mapped[str | None] = mapped_column(String(100))  # tr_…
    status: Mapped[str] = mapped_column(String(20))  # paid (stripe) | recorded (manual)
    transaction_id: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(index=True)
