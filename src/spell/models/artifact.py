"""Files a cast produced, stored content-addressed with an expiry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base

__all__ = ["Artifact"]


class Artifact(Base):
    """One artifact row; the bytes live in the blob store under ``sha256``."""

    __tablename__ = "artifacts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    cast_id: Mapped[str] = mapped_column(ForeignKey("casts.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    # Set when retention deleted the bytes of the expired artifact; the row stays to answer 410.
    deleted_at: Mapped[datetime | None]
