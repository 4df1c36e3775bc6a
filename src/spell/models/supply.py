"""Supply chain: imported advisories, each version's SBOM, what re-scans found, notices to makers, and
the Sigstore identities a publisher allows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spell.models.base import Base, JsonValue

__all__ = [
    "Advisory",
    "AdvisoryPackage",
    "PublisherSigstoreIdentity",
    "SupplyFinding",
    "SupplyNotice",
    "VersionSbom",
]


class Advisory(Base):
    """One OSV record as imported: severity from its CVSS vector, ``affected`` kept for range matching."""

    __tablename__ = "advisories"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    aliases: Mapped[list[Any]] = mapped_column(JsonValue)
    summary: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float)
    vector: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(10))  # critical, high, medium, low, none, unknown
    affected: Mapped[list[Any]] = mapped_column(JsonValue)
    published_at: Mapped[datetime | None]
    modified_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    imported_at: Mapped[datetime]


class AdvisoryPackage(Base):
    """A package an advisory names, the index a component is looked up by."""

    __tablename__ = "advisory_packages"
    __table_args__ = (Index("ix_advisory_packages_ecosystem_name", "ecosystem", "name"),)

    advisory_id: Mapped[str] = mapped_column(ForeignKey("advisories.id"), primary_key=True)
    ecosystem: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), primary_key=True)


class VersionSbom(Base):
    """The SBOM a version was published with, and its components as the gate read them."""

    __tablename__ = "spell_version_sboms"

    version_id: Mapped[str] = mapped_column(ForeignKey("spell_versions.id"), primary_key=True)
    format: Mapped[str] = mapped_column(String(20))  # spdx, cyclonedx
    spec_version: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(40))
    document: Mapped[dict[str, Any]] = mapped_column(JsonValue)
    components: Mapped[list[Any]] = mapped_column(JsonValue)
    created_at: Mapped[datetime]


class SupplyFinding(Base):
    """An advisory matching a component of a published version; resolved when it no longer matches."""

    __tablename__ = "supply_findings"
    __table_args__ = (UniqueConstraint("version_id", "advisory_id", "component"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("spell_versions.id"), index=True)
    advisory_id: Mapped[str] = mapped_column(String(100))
    component: Mapped[str] = mapped_column(String(500))  # the versioned purl, else name@version
    score: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(10))
    blocking: Mapped[bool] = mapped_column(default=False)
    found_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class SupplyNotice(Base):
    """What a maker was told about one of their versions (flagged, delisted, cleared)."""

    __tablename__ = "supply_notices"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    publisher: Mapped[str] = mapped_column(ForeignKey("publishers.name"), index=True)
    spell_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict[str, Any]] = mapped_column(JsonValue)
    created_at: Mapped[datetime]


class PublisherSigstoreIdentity(Base):
    """A certificate identity and OIDC issuer allowed to sign the publisher's bundles with Sigstore."""

    __tablename__ = "publisher_sigstore_identities"
    __table_args__ = (UniqueConstraint("publisher", "identity", "issuer"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    publisher: Mapped[str] = mapped_column(ForeignKey("publishers.name"), index=True)
    identity: Mapped[str] = mapped_column(String(500))
    issuer: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
