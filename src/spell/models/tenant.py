"""Tenants (organizations): the unit that owns casts, keys, buttons and private spells."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base

__all__ = ["Tenant"]


class Tenant(Base):
    """An organization; every user has a home tenant.

    A token reaches a tenant only through its binding: the ``(issuer, org)`` pair that created it, or that
    the operator bound it to. The name is a label, never how a token finds its tenant; a tenant with no
    binding (made with the CLI) is reached by no token.
    """

    __tablename__ = "tenants"
    __table_args__ = (UniqueConstraint("issuer", "org"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    issuer: Mapped[str | None] = mapped_column(String(500))
    org: Mapped[str | None] = mapped_column(String(200))
    # Exempts every user of the tenant and its data from retention and erasure.
    legal_hold: Mapped[bool] = mapped_column(default=False, server_default=false())
    legal_hold_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
