"""Entitlements: a caster bought a ``one_time`` spell; later casts of it are free."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base

__all__ = ["Entitlement"]


class Entitlement(Base):
    """One caster's purchase of one spell, made by the cast whose charge paid for it.

    The primary key makes the purchase unique: racing first casts insert once and only the winner is
    charged. A full refund of the purchase revokes it (``revoked_at``); a later cast buys it again.
    """

    __tablename__ = "entitlements"

    caster_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    spell_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    cast_id: Mapped[str] = mapped_column(String(40), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    price_micros: Mapped[int] = mapped_column(BigInteger)
    transaction_id: Mapped[str | None] = mapped_column(String(40))
    bought_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
