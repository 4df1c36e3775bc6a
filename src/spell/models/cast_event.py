"""The append-only event stream of a cast (SSE ``id`` = ``seq``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base, JsonValue

__all__ = ["CastEvent"]


class CastEvent(Base):
    """One event: ``queued``, ``running``, ``progress``, ``log`` or a terminal status."""

    __tablename__ = "cast_events"

    cast_id: Mapped[str] = mapped_column(ForeignKey("casts.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JsonValue)
    created_at: Mapped[datetime]
