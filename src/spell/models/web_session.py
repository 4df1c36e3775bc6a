"""Console sign-ins: one row per browser session, found by the keyed hash of its secret id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base, JsonValue

__all__ = ["WebSession"]


class WebSession(Base):
    """Who signed in, with which key (None for an identity-provider sign-in), the scopes the session
    may use, its CSRF token and its lifetime. The cookie's secret is never stored, only its hash."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"), index=True)
    scopes: Mapped[list[Any]] = mapped_column(JsonValue)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
