"""Re-scanning every published version against the advisories held now.

A version is evaluated by the publish gate's own matching (``spell.sbom.gate.evaluate`` over the SBOM
it was published with). Its findings are kept in step: new matches are recorded, matches that went away
(an advisory withdrawn or narrowed) are resolved. A version that newly has a blocking finding is
flagged and its maker told; still blocking once ``delist_at`` has passed, it is delisted (no longer
the default version nor listed, still castable by exact version); with no blocking finding left its
flags are cleared and the maker told again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from spell.config.supply import SupplySettings
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.kit.time import to_rfc3339, to_rfc3339_or_none
from spell.models import Spell, SpellVersion
from spell.models.supply import SupplyFinding
from spell.platform.audit.service import AuditService
from spell.platform.auth.schemas import Principal
from spell.platform.supply.lookup import DatabaseAdvisories
from spell.platform.supply.notices import SupplyNotices
from spell.platform.supply.repository import SupplyRepository, sbom_of
from spell.sbom.gate import Finding, GatePolicy, evaluate
from spell.storage.session import Database, UnitOfWork

__all__ = ["ScanResult", "SupplyScanService"]


@dataclass(frozen=True)
class ScanResult:
    """What one re-scan found and did; versions named ``spell@version``."""

    scanned: int = 0
    new_findings: int = 0
    resolved_findings: int = 0
    flagged: tuple[str, ...] = ()
    delisted: tuple[str, ...] = ()
    cleared: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the CLI and the REST answer."""
        return {
            "scanned": self.scanned,
            "new_findings": self.new_findings,
            "resolved_findings": self.resolved_findings,
            "flagged": list(self.flagged),
            "delisted": list(self.delisted),
            "cleared": list(self.cleared),
        }


@dataclass
class _Tally:
    scanned: int = 0
    new_findings: int = 0
    resolved_findings: int = 0
    changes: dict[str, list[str]] = field(
        default_factory=lambda: {"flagged": [], "delisted": [], "cleared": []}
    )

    def result(self) -> ScanResult:
        return ScanResult(
            scanned=self.scanned,
            new_findings=self.new_findings,
            resolved_findings=self.resolved_findings,
            flagged=tuple(self.changes["flagged"]),
            delisted=tuple(self.changes["delisted"]),
            cleared=tuple(self.changes["cleared"]),
        )


class SupplyScanService:
    """Re-scans published versions; the grace before delisting comes from ``settings``."""

    def __init__(
        self,
        settings: SupplySettings,
        notices: SupplyNotices,
        audit: AuditService,
        *,
        clock: Clock | None = None,
        repo: SupplyRepository | None = None,
    ) -> None:
        self.settings = settings
        self.notices = notices
        self.audit = audit
        self.clock = clock or SystemClock()
        self.repo = repo or SupplyRepository()

    def run(self, db: Database) -> ScanResult:
        """One re-scan in its own transaction, now (the scheduled job and ``spell advisories rescan``)."""
        with db.unit_of_work() as uow:
            return self.rescan(uow, self.clock.now())

    def rescan_for(self, uow: UnitOfWork, principal: Principal) -> ScanResult:
        """``rescan`` now, asked by an operator (the REST route)."""
        principal.require_operator()
        return self.rescan(uow, self.clock.now())

    def rescan(self, uow: UnitOfWork, now: datetime) -> ScanResult:
        """Evaluate every version published with an SBOM against the advisories held, at ``now``."""
        self.repo.lock_scan(uow)
        targets = self.repo.scan_targets(uow)
        kept = self.repo.findings_by_version(uow, [version.id for _, version, _ in targets])
        lookup = DatabaseAdvisories(uow, self.repo)
        # Licences were settled at publish; only advisories change afterwards.
        policy = GatePolicy(sbom_required_for=(), block_score=self.settings.block_score)
        tally = _Tally()
        for spell, version, sbom in targets:
            verdict = evaluate(sbom_of(sbom), visibility=spell.visibility, policy=policy, advisories=lookup)
            current = self._reconcile(uow, version, kept[version.id], verdict.findings, now, tally)
            tally.scanned += 1
            for kind in self._transition(version, current, now):
                self._announce(uow, spell, version, kind, current, now)
                tally.changes[kind].append(f"{spell.id}@{version.version}")
        uow.session.flush()
        return tally.result()

    def _reconcile(
        self,
        uow: UnitOfWork,
        version: SpellVersion,
        kept: list[SupplyFinding],
        found: tuple[Finding, ...],
        now: datetime,
        tally: _Tally,
    ) -> list[SupplyFinding]:
        """Bring the version's finding rows in line with ``found``; returns the open ones."""
        rows = {(row.advisory_id, row.component): row for row in kept}
        matched = {(finding.advisory_id, finding.component.key): finding for finding in found}
        for key, stale in rows.items():
            if key not in matched and stale.resolved_at is None:
                stale.resolved_at = now
                tally.resolved_findings += 1
        current: list[SupplyFinding] = []
        for key, finding in sorted(matched.items(), key=lambda item: item[0]):
            row = rows.get(key)
            if row is None:
                row = SupplyFinding(
                    id=new_id("fnd"),
                    version_id=version.id,
                    advisory_id=key[0],
                    component=key[1],
                    score=finding.score,
                    severity=finding.severity,
                    blocking=finding.blocking,
                    found_at=now,
                    resolved_at=None,
                )
                self.repo.add(uow, row)
                tally.new_findings += 1
            elif row.resolved_at is not None:  # matching again: the same row, found anew
                row.found_at, row.resolved_at = now, None
                tally.new_findings += 1
            # An advisory re-imported with another score may start (or stop) blocking.
            row.score, row.severity, row.blocking = finding.score, finding.severity, finding.blocking
            current.append(row)
        return current

    def _transition(self, version: SpellVersion, current: list[SupplyFinding], now: datetime) -> list[str]:
        """Flag, delist or clear the version; the kinds of notice that are due."""
        if not any(row.blocking for row in current):
            if version.flagged_at is None and version.delisted_at is None:
                return []
            version.flagged_at = version.delist_at = version.delisted_at = None
            return ["cleared"]
        kinds: list[str] = []
        if version.flagged_at is None:
            version.flagged_at = now
            version.delist_at = now + timedelta(days=self.settings.grace_days)
            kinds.append("flagged")
        if version.delisted_at is None and version.delist_at is not None and now >= version.delist_at:
            version.delisted_at = now
            kinds.append("delisted")
        return kinds

    def _announce(
        self,
        uow: UnitOfWork,
        spell: Spell,
        version: SpellVersion,
        kind: str,
        current: list[SupplyFinding],
        now: datetime,
    ) -> None:
        details = {
            "flagged_at": to_rfc3339_or_none(version.flagged_at),
            "delist_at": to_rfc3339_or_none(version.delist_at),
            "delisted_at": to_rfc3339_or_none(version.delisted_at),
            "findings": [_finding_dict(row) for row in current],
            "scanned_at": to_rfc3339(now),
        }
        self.audit.append(
            uow,
            f"supply.{kind}",
            actor_id=None,
            tenant_id=spell.tenant_id,
            subject=f"{spell.id}@{version.version}",
            data={"advisories": sorted({row.advisory_id for row in current if row.blocking})},
        )
        self.notices.notify(uow, spell, version, kind, details, now)


def _finding_dict(row: SupplyFinding) -> dict[str, Any]:
    return {
        "advisory_id": row.advisory_id,
        "component": row.component,
        "score": row.score,
        "severity": row.severity,
        "blocking": row.blocking,
    }
