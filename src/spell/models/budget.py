"""Budgets: a caster's caps, the running spent/reserved totals per UTC window, and per-cast holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base

__all__ = ["WINDOWS", "Budget", "BudgetUsage", "Hold"]

WINDOWS = ("daily", "monthly", "total")


class Budget(Base):
    """A caster's spending caps in one currency; ``None`` means no cap."""

    __tablename__ = "budgets"

    caster_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    per_cast_micros: Mapped[int | None] = mapped_column(BigInteger)
    daily_micros: Mapped[int | None] = mapped_column(BigInteger)
    monthly_micros: Mapped[int | None] = mapped_column(BigInteger)
    total_micros: Mapped[int | None] = mapped_column(BigInteger)
    # Bumped by every reservation: the row lock that serialises one caster's reservations.
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class BudgetUsage(Base):
    """Spent and reserved totals of one caster in one window (``total`` starts at the epoch)."""

    __tablename__ = "budget_usage"
    __table_args__ = (UniqueConstraint("caster_id", "window", "window_start"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    caster_id: Mapped[str] = mapped_column(String(40))
    window: Mapped[str] = mapped_column(String(10))
    window_start: Mapped[datetime]
    spent_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_micros: Mapped[int] = mapped_column(BigInteger, default=0)


class Hold(Base):
    """The estimate reserved for one cast, until it is captured or released (exactly once)."""

    __tablename__ = "holds"

    cast_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    caster_id: Mapped[str] = mapped_column(String(40), index=True)
    spell_id: Mapped[str] = mapped_column(String(200), index=True)
    maker_id: Mapped[str] = mapped_column(String(40), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    captured_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    maker_share_bps: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="held", index=True)  # held|captured|released
    day_start: Mapped[datetime]
    month_start: Mapped[datetime]
    created_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
