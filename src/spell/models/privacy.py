"""Data-subject rights: a user's processing preferences, cross-border transfer consents and erasure."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base

__all__ = ["ErasureRequest", "PrivacyPreference", "TransferConsent"]


class PrivacyPreference(Base):
    """One row per user who set a preference; a user with no row is unrestricted and has not opted out."""

    __tablename__ = "privacy_preferences"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    is_processing_restricted: Mapped[bool] = mapped_column(default=False)
    restricted_at: Mapped[datetime | None]
    is_do_not_sell: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class TransferConsent(Base):
    """A consent to move the user's data to ``region`` for ``purpose``; withdrawn rows are kept as proof."""

    __tablename__ = "privacy_transfer_consents"
    __table_args__ = (Index("ix_privacy_transfer_consents_user_id_region", "user_id", "region"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    region: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(40))
    granted_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]


class ErasureRequest(Base):
    """An erased user: anonymised at ``anonymised_at``, the rest purged once ``purge_after`` passed."""

    __tablename__ = "privacy_erasures"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    requested_by: Mapped[str | None] = mapped_column(String(40))  # the user, an admin, or None (CLI)
    requested_at: Mapped[datetime]
    anonymised_at: Mapped[datetime]
    purge_after: Mapped[datetime] = mapped_column(index=True)
    purged_at: Mapped[datetime | None]
