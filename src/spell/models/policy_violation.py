"""Policy violations: what a spell or a user did that the platform refused, counted towards suspension."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base, JsonValue

__all__ = ["SUBJECT_TYPES", "VIOLATION_KINDS", "PolicyViolation"]

SUBJECT_TYPES = ("spell", "user")
# egress: a cast reached for a host it may not; limit: a cast ran out of fuel, memory, time or output;
# signature / supply: a publish refused for its signature or its SBOM; rate_limit_storm: a burst of
# refused casts.
VIOLATION_KINDS = ("egress", "limit", "signature", "supply", "rate_limit_storm")


class PolicyViolation(Base):
    """One refusal charged to a subject; open (``cleared_at`` None) ones count towards its suspension."""

    __tablename__ = "policy_violations"
    __table_args__ = (
        # counting a subject's open violations in a window, and listing one subject's
        Index("ix_policy_violations_subject", "subject_type", "subject_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    subject_type: Mapped[str] = mapped_column(String(10))
    subject_id: Mapped[str] = mapped_column(String(200))
    tenant_id: Mapped[str | None] = mapped_column(String(40), index=True)
    cast_id: Mapped[str | None] = mapped_column(String(40))
    spell_version: Mapped[str | None] = mapped_column(String(50))
    details: Mapped[dict[str, Any]] = mapped_column(JsonValue)
    # this violation reached the threshold and suspended its subject
    suspended: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(index=True)
    # the subject was reinstated after it: no longer counted
    cleared_at: Mapped[datetime | None]
