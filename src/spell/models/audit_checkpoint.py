"""Signed checkpoints of the audit log: what retention folded away, so the rest still verifies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base

__all__ = ["AuditCheckpoint"]


class AuditCheckpoint(Base):
    """One lane's chain up to its record ``last_seq`` (a ``lane_seq``): its head hash then, and a digest
    of the records still kept below it.

    Each checkpoint covers every record of its lane from the first one; the newest of a lane is the one
    ``verify`` starts that lane from. ``number`` counts a lane's checkpoints, so two nodes folding at
    once cannot both write the next one.
    """

    __tablename__ = "audit_checkpoints"

    lane: Mapped[int] = mapped_column(
        Integer, primary_key=True, server_default=text("0"), autoincrement=False
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(80))
    folded: Mapped[int] = mapped_column(BigInteger)
    kept: Mapped[int] = mapped_column(BigInteger)
    kept_digest: Mapped[str] = mapped_column(String(80))
    first_at: Mapped[datetime | None]
    last_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(100))
    signature: Mapped[str] = mapped_column(String(200))
