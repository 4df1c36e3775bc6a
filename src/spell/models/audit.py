"""The audit log: append-only, each record carrying the hash of the one before it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base, JsonValue

__all__ = ["AuditHead", "AuditRecord"]


class AuditRecord(Base):
    """One money- or security-relevant event; ``hash`` covers every field but ``personal``, and
    ``prev_hash``."""

    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    at: Mapped[datetime] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    actor_id: Mapped[str | None] = mapped_column(String(40), index=True)
    tenant_id: Mapped[str | None] = mapped_column(String(40), index=True)
    subject: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JsonValue, default=dict)
    # Free text about a person (a key's name, a ban reason): outside the hash, so erasing a user can
    # clear it while the chain still verifies.
    personal: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)
    prev_hash: Mapped[str] = mapped_column(String(80))
    hash: Mapped[str] = mapped_column(String(80))


class AuditHead(Base):
    """The single row naming the chain's last record; appends lock it, so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(80))
