"""Users: API-key or JWT principals with roles, a home tenant and a ban flag."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base, JsonValue

__all__ = ["ROLES", "User"]

ROLES = ("maker", "caster", "operator", "auditor", "admin")


class User(Base):
    """A person or service that calls the platform."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    subject: Mapped[str | None] = mapped_column(String(500), unique=True)  # "<iss>|<sub>" for JWT users
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    roles: Mapped[list[Any]] = mapped_column(JsonValue)
    is_banned: Mapped[bool] = mapped_column(default=False)
    ban_reason: Mapped[str | None] = mapped_column(String(500))
    # Exempts the user's casts, artifacts and audit records from retention and erasure.
    legal_hold: Mapped[bool] = mapped_column(default=False, server_default=false())
    legal_hold_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
