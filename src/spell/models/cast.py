"""Casts: one execution each, with its idempotency key, digests, output, usage and timings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base, JsonValue

__all__ = ["RETRYABLE_STATUSES", "TERMINAL_STATUSES", "Cast", "CastStatus"]


class CastStatus(StrEnum):
    """Where a cast is in its life: ``queued`` → ``running`` → one terminal status.

    The column stays a plain string; members compare and hash equal to their values, so rows, events
    and the wire format read the same strings. The status of a cast is also the kind of the event that
    records the move to it.
    """

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELED = "canceled"
    ABORTED = "aborted"


# A cast in one of these never changes status again.
TERMINAL_STATUSES: frozenset[CastStatus] = frozenset(
    {CastStatus.SUCCEEDED, CastStatus.FAILED, CastStatus.TIMEOUT, CastStatus.CANCELED, CastStatus.ABORTED}
)
# Ended without succeeding: a new cast may retry it.
RETRYABLE_STATUSES: frozenset[CastStatus] = TERMINAL_STATUSES - {CastStatus.SUCCEEDED}


class Cast(Base):
    """One execution of a spell version for a tenant."""

    __tablename__ = "casts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_casts_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    spell_id: Mapped[str] = mapped_column(ForeignKey("spells.id"), index=True)
    version: Mapped[str] = mapped_column(String(50))
    spell_digest: Mapped[str] = mapped_column(String(80))
    button_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_digest: Mapped[str] = mapped_column(String(80))
    input: Mapped[Any] = mapped_column(JsonValue)
    input_digest: Mapped[str] = mapped_column(String(80))
    output: Mapped[Any | None] = mapped_column(JsonValue)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)
    error_code: Mapped[str | None] = mapped_column(String(50))
    error_message: Mapped[str | None] = mapped_column(Text)
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    retry_of: Mapped[str | None] = mapped_column(String(40))
    retried_by: Mapped[str | None] = mapped_column(String(40))
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None] = mapped_column(index=True)
    # Set by retention: the input is then its digest, the output and log events gone.
    input_reduced_at: Mapped[datetime | None]
    output_pruned_at: Mapped[datetime | None]
    logs_pruned_at: Mapped[datetime | None]
