"""A version's SBOM as ``GET /v1/spells/{id}/versions/{v}/sbom`` shows it: the document as published and
counts of its components, of the advisories matching them now and of their licences.

Advisories are matched when asked, against the advisories imported by then, so a version published
clean shows an advisory imported since without waiting for the next re-scan.
"""

from __future__ import annotations

from collections import Counter

from spell.config.supply import SupplySettings
from spell.models import Spell, SpellVersion
from spell.platform.spell.errors import sbom_not_found
from spell.platform.spell.schemas import SbomAdvisory, SbomSummary, VersionSbomOut
from spell.platform.supply.lookup import DatabaseAdvisories
from spell.platform.supply.repository import SupplyRepository
from spell.sbom import gate
from spell.storage.session import UnitOfWork

__all__ = ["SEVERITIES", "sbom_report"]

#: Every severity an advisory can have, each counted (zero included) so clients can rely on the keys.
SEVERITIES = ("critical", "high", "medium", "low", "none", "unknown")
NO_LICENSE = "NOASSERTION"


def sbom_report(
    uow: UnitOfWork, spell: Spell, version: SpellVersion, settings: SupplySettings
) -> VersionSbomOut:
    """The SBOM ``version`` was published with and its counts; ``SBOM_NOT_FOUND`` when it has none."""
    repo = SupplyRepository()
    sbom = repo.get_sbom(uow, version.id)
    if sbom is None:
        raise sbom_not_found(spell.id, version.version)
    verdict = gate.evaluate(
        sbom,
        visibility=spell.visibility,
        policy=gate.GatePolicy.from_settings(settings),
        advisories=DatabaseAdvisories(uow, repo),
    )
    severities = Counter(f.severity for f in verdict.findings)
    licenses = Counter(e for c in sbom.components for e in (c.licenses or (NO_LICENSE,)))
    return VersionSbomOut(
        spell_id=spell.id,
        version=version.version,
        format=sbom.format,
        spec_version=sbom.spec_version,
        path=sbom.path,
        summary=SbomSummary(
            components=len(sbom.components),
            advisories={s: severities.get(s, 0) for s in SEVERITIES},
            licenses=dict(sorted(licenses.items())),
        ),
        advisories=[
            SbomAdvisory(
                advisory_id=f.advisory_id,
                component=f.component.key,
                score=f.score,
                severity=f.severity,
                summary=f.summary,
                blocking=f.blocking,
            )
            for f in verdict.findings
        ],
        document=sbom.document,
    )
