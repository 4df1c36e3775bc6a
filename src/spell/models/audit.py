"""The audit log: append-only hash chains ("lanes"), each record carrying the hash of the one before it
in its lane."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base, JsonValue

__all__ = ["AuditHead", "AuditRecord"]


class AuditRecord(Base):
    """One money- or security-relevant event; ``hash`` covers every field but ``personal``, and
    ``prev_hash``.

    ``seq`` is the record's place in the whole log (listings and cursors); the chain a record belongs
    to is its ``lane``, where it is number ``lane_seq``: that number is what the hash covers as the
    record's ``seq`` (records from before lanes existed are lane 0 with ``lane_seq == seq``).
    """

    __tablename__ = "audit_records"
    __table_args__ = (Index("ix_audit_records_lane_lane_seq", "lane", "lane_seq", unique=True),)

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
    lane: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    lane_seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(80))
    hash: Mapped[str] = mapped_column(String(80))


class AuditHead(Base):
    """One row per lane naming its last record; an append locks its lane's row, so no lane forks, and
    appends in different lanes do not wait for each other."""

    __tablename__ = "audit_head"

    lane: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(80))
