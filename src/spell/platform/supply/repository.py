"""All SQL of the supply-chain domain: advisories and their package index, versions' SBOMs, findings
and notices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text

from spell.models import Publisher, Spell, SpellVersion
from spell.models.supply import Advisory, AdvisoryPackage, SupplyFinding, SupplyNotice, VersionSbom
from spell.sbom.document import Component, Sbom
from spell.sbom.osv import AdvisoryRecord, _package_of
from spell.storage.session import UnitOfWork

__all__ = ["ScanTarget", "SupplyRepository", "component_package", "record_of", "sbom_of"]

# The key of the PostgreSQL transaction lock that orders concurrent re-scans ("SPELLS" in ASCII).
_SCAN_LOCK = 0x5350_454C_4C53

_CHUNK = 500  # ids per IN list

ScanTarget = tuple[Spell, SpellVersion, VersionSbom]


def component_package(component: Component) -> tuple[str, str] | None:
    """(OSV ecosystem, normalised name) of a component, as advisories are indexed (``packages``); None
    when it cannot be matched (no purl of a known ecosystem, no version). The matcher's own reading of
    the component, so the index is looked up exactly as ``affects`` matches."""
    package = _package_of(component)
    return None if package is None else (package[0], package[1])


def record_of(row: Advisory) -> AdvisoryRecord:
    """The library's record of a stored advisory."""
    return AdvisoryRecord(
        id=row.id,
        aliases=tuple(row.aliases or ()),
        summary=row.summary,
        score=row.score,
        vector=row.vector,
        severity=row.severity,
        affected=tuple(row.affected or ()),
        published=row.published_at,
        modified=row.modified_at,
        withdrawn=row.withdrawn_at,
    )


class SupplyRepository:
    """Queries on advisories, SBOMs, findings and notices; stateless."""

    # advisories ------------------------------------------------------------------------------------
    def advisories(self, uow: UnitOfWork, ids: Iterable[str]) -> dict[str, Advisory]:
        """The stored advisories among ``ids``, by id."""
        wanted = list(set(ids))
        found: dict[str, Advisory] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            found.update(
                (row.id, row) for row in uow.session.scalars(select(Advisory).where(Advisory.id.in_(chunk)))
            )
        return found

    def put_advisory(
        self, uow: UnitOfWork, record: AdvisoryRecord, now: datetime, *, existing: Advisory | None
    ) -> Advisory:
        """Insert ``record``, or replace ``existing`` with it; its package index rows are replaced too."""
        row = existing or Advisory(id=record.id, imported_at=now)
        row.aliases = list(record.aliases)
        row.summary = record.summary
        row.score, row.vector, row.severity = record.score, record.vector, record.severity
        row.affected = list(record.affected)
        row.published_at, row.modified_at, row.withdrawn_at = (
            record.published,
            record.modified,
            record.withdrawn,
        )
        row.imported_at = now
        if existing is None:
            uow.session.add(row)
        else:
            uow.session.execute(delete(AdvisoryPackage).where(AdvisoryPackage.advisory_id == record.id))
        uow.session.flush()
        uow.session.add_all(
            AdvisoryPackage(advisory_id=record.id, ecosystem=ecosystem, name=name)
            for ecosystem, name in sorted(set(record.packages))
        )
        uow.session.flush()
        return row

    def advisories_for(self, uow: UnitOfWork, component: Component) -> list[AdvisoryRecord]:
        """Advisories not withdrawn that name the component's package (its versions are not compared
        here: ``affects`` does that)."""
        package = component_package(component)
        if package is None:
            return []
        return self.advisories_of_package(uow, *package)

    def advisories_of_package(self, uow: UnitOfWork, ecosystem: str, name: str) -> list[AdvisoryRecord]:
        """Advisories not withdrawn that name the package (ecosystem, normalised name)."""
        rows = uow.session.scalars(
            select(Advisory)
            .join(AdvisoryPackage, AdvisoryPackage.advisory_id == Advisory.id)
            .where(
                AdvisoryPackage.ecosystem == ecosystem,
                AdvisoryPackage.name == name,
                Advisory.withdrawn_at.is_(None),
            )
            .order_by(Advisory.id)
        )
        return [record_of(row) for row in rows]

    def list_advisories(self, uow: UnitOfWork, *, limit: int) -> list[Advisory]:
        """Stored advisories, most recently imported first."""
        return list(
            uow.session.scalars(
                select(Advisory).order_by(Advisory.imported_at.desc(), Advisory.id).limit(limit)
            )
        )

    # SBOMs -----------------------------------------------------------------------------------------
    def put_sbom(self, uow: UnitOfWork, version_id: str, sbom: Sbom, now: datetime) -> VersionSbom:
        """Keep the SBOM a version was published with (replacing any kept before)."""
        row = uow.session.get(VersionSbom, version_id)
        if row is None:
            row = VersionSbom(version_id=version_id, created_at=now)
            uow.session.add(row)
        row.format, row.spec_version, row.path = sbom.format, sbom.spec_version, sbom.path
        row.document = sbom.document
        row.components = [component.to_dict() for component in sbom.components]
        uow.session.flush()
        return row

    def get_sbom(self, uow: UnitOfWork, version_id: str) -> Sbom | None:
        """The SBOM a version was published with, or None."""
        row = uow.session.get(VersionSbom, version_id)
        return None if row is None else sbom_of(row)

    def scan_targets(self, uow: UnitOfWork) -> list[ScanTarget]:
        """Every version published with an SBOM (delisted ones too: a withdrawn advisory lists them
        again), with its spell, in a stable order."""
        rows = uow.session.execute(
            select(Spell, SpellVersion, VersionSbom)
            .join(SpellVersion, SpellVersion.spell_id == Spell.id)
            .join(VersionSbom, VersionSbom.version_id == SpellVersion.id)
            .order_by(SpellVersion.spell_id, SpellVersion.created_at, SpellVersion.id)
        )
        return [(spell, version, sbom) for spell, version, sbom in rows]

    def lock_scan(self, uow: UnitOfWork) -> None:
        """Order concurrent re-scans (one per server process): the second sees what the first committed,
        so a version is flagged, and its maker told, once. SQLite's write transactions are serial already."""
        if uow.session.get_bind().dialect.name == "postgresql":
            uow.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCAN_LOCK})

    # findings --------------------------------------------------------------------------------------
    def findings_by_version(
        self, uow: UnitOfWork, version_ids: Sequence[str]
    ) -> dict[str, list[SupplyFinding]]:
        """Every finding of the versions (resolved ones too: a match that returns reopens its row)."""
        found: dict[str, list[SupplyFinding]] = {version_id: [] for version_id in version_ids}
        wanted = list(version_ids)
        for start in range(0, len(wanted), _CHUNK):
            rows = uow.session.scalars(
                select(SupplyFinding).where(SupplyFinding.version_id.in_(wanted[start : start + _CHUNK]))
            )
            for row in rows:
                found[row.version_id].append(row)
        return found

    def add(self, uow: UnitOfWork, *rows: SupplyFinding | SupplyNotice) -> None:
        """Insert new rows (flushed, so their constraints are checked now)."""
        uow.session.add_all(rows)
        uow.session.flush()

    # notices ---------------------------------------------------------------------------------------
    def notices(self, uow: UnitOfWork, publisher: str, *, limit: int) -> list[SupplyNotice]:
        """A publisher's notices, newest first."""
        return list(
            uow.session.scalars(
                select(SupplyNotice)
                .where(SupplyNotice.publisher == publisher)
                .order_by(SupplyNotice.created_at.desc(), SupplyNotice.id.desc())
                .limit(limit)
            )
        )

    def publisher(self, uow: UnitOfWork, name: str) -> Publisher | None:
        """A publisher by name."""
        return uow.session.get(Publisher, name)


def sbom_of(row: VersionSbom) -> Sbom:
    """The library's SBOM of a stored one."""
    components: list[dict[str, Any]] = row.components or []
    return Sbom(
        format=row.format,  # type: ignore[arg-type]  # stored from an Sbom: spdx or cyclonedx
        spec_version=row.spec_version,
        path=row.path,
        document=row.document,
        components=tuple(Component.from_dict(item) for item in components),
    )
