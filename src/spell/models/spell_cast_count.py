"""Casts of a spell not yet added to ``spells.cast_count`` (PostgreSQL; see ``platform.spell.counts``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base

__all__ = ["SpellCastCount"]


class SpellCastCount(Base):
    """One shard's pending casts of a spell; the sweep adds them to the spell's row and deletes them.

    No foreign key to ``spells``: its check would cost every cast a lookup, and a row left by a
    removed spell is only deleted by the next fold (its ``UPDATE`` finds no spell).
    """

    __tablename__ = "spell_cast_counts"

    spell_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
