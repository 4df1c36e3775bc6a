"""Tenants (organizations): the unit that owns casts, keys, buttons and private spells."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base

__all__ = ["Tenant"]


class Tenant(Base):
    """An organization; every user has a home tenant."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
