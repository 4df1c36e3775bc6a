"""Published spells and their immutable versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base, JsonValue

__all__ = ["VISIBILITIES", "Spell", "SpellVersion"]

VISIBILITIES = ("public", "unlisted", "private", "team")


class Spell(Base):
    """A spell id (``publisher/name``) in the grimoire."""

    __tablename__ = "spells"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    publisher: Mapped[str] = mapped_column(ForeignKey("publishers.name"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(JsonValue)
    visibility: Mapped[str] = mapped_column(String(20), default="public")
    is_suspended: Mapped[bool] = mapped_column(default=False)
    suspend_reason: Mapped[str | None] = mapped_column(String(500))
    latest_version: Mapped[str] = mapped_column(String(50))
    price_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    cast_count: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# One per listing order, in the order's own direction and with its tie-break (id ascending): a page
# walks its index from the cursor and stops after the page. On the sort key alone, the last tie group
# a page reached was read and sorted whole (a hundred spells per cast count at 100 000 spells, and a
# real catalog's "no casts yet" group is most of it).
Index("ix_spells_updated_at", Spell.updated_at.desc(), Spell.id)
Index("ix_spells_cast_count", Spell.cast_count.desc(), Spell.id)
Index("ix_spells_price_amount", Spell.price_amount, Spell.id)


class SpellVersion(Base):
    """One immutable version: digest, manifest, input schema, signature, where the bundle lives."""

    __tablename__ = "spell_versions"
    __table_args__ = (
        UniqueConstraint("spell_id", "version"),
        # the catalog leaves out spells whose latest version is delisted: few rows, read on every page
        Index(
            "ix_spell_versions_delisted",
            "spell_id",
            "version",
            sqlite_where=text("delisted_at IS NOT NULL"),
            postgresql_where=text("delisted_at IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    spell_id: Mapped[str] = mapped_column(ForeignKey("spells.id"), index=True)
    version: Mapped[str] = mapped_column(String(50))
    digest: Mapped[str] = mapped_column(String(80))
    execution: Mapped[str] = mapped_column(String(20))
    manifest: Mapped[dict[str, Any]] = mapped_column(JsonValue)
    input_schema: Mapped[dict[str, Any]] = mapped_column(JsonValue)
    signer_key_id: Mapped[str | None] = mapped_column(String(100))
    is_yanked: Mapped[bool] = mapped_column(default=False)
    # the Sigstore certificate identity verified at publish, when the bundle carried one
    sigstore_identity: Mapped[str | None] = mapped_column(String(500))
    # a re-scan found a blocking advisory: listed until delist_at, then delisted unless fixed
    flagged_at: Mapped[datetime | None]
    delist_at: Mapped[datetime | None]
    delisted_at: Mapped[datetime | None]
    archive_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
