"""Buttons: a fixed ``button_id → spell@version`` a client may cast without naming the spell."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base, JsonValue

__all__ = ["Button"]


class Button(Base):
    """One button, owned by a tenant, with the roles and tenants allowed to press it.

    Identified by (tenant, id): two tenants may both have a ``hello`` button, and neither can take,
    see or change the other's by naming it.
    """

    __tablename__ = "buttons"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    spell_id: Mapped[str] = mapped_column(ForeignKey("spells.id"))
    version: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(String(200))
    allowed_roles: Mapped[list[Any]] = mapped_column(JsonValue)
    allowed_tenants: Mapped[list[Any]] = mapped_column(JsonValue)
    require_signature: Mapped[bool] = mapped_column(default=True)
    require_confirmation: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
