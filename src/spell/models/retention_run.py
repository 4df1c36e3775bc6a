"""Retention runs: what each run of the retention rules did, the newest shown to operators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base, JsonValue

__all__ = ["RetentionRun"]


class RetentionRun(Base):
    """One finished run; ``report`` is its ``RetentionReport`` as JSON."""

    __tablename__ = "retention_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime]
    dry_run: Mapped[bool]
    report: Mapped[dict[str, Any]] = mapped_column(JsonValue)
