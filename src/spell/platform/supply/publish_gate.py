"""The supply-chain gate as publishing runs it: the bundle's SBOM against the deployment's rules and the
imported advisories, then kept with the new version in the same transaction.

A visibility change goes through ``require_sboms`` too: otherwise a spell published private without an
SBOM could be made public afterwards and skip the rule the deployment set for public spells.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from spell.config.supply import SupplySettings
from spell.errors import SbomRequired
from spell.models import SpellVersion
from spell.platform.supply.lookup import DatabaseAdvisories
from spell.platform.supply.repository import SupplyRepository
from spell.sbom import gate
from spell.sbom.document import read_sbom
from spell.storage.session import UnitOfWork

__all__ = ["keep_sbom", "require_sboms", "screen"]


def screen(uow: UnitOfWork, bundle: Path, *, visibility: str, settings: SupplySettings) -> gate.Verdict:
    """The gate's passing verdict for the unpacked ``bundle`` published at ``visibility`` (its SBOM and
    warnings); raises ``InvalidSbom`` or the gate's refusal (``SbomRequired``, ``VulnerableDependency``,
    ``LicenseNotAllowed``)."""
    return gate.check(
        read_sbom(bundle),
        visibility=visibility,
        policy=gate.GatePolicy.from_settings(settings),
        advisories=DatabaseAdvisories(uow, SupplyRepository()),
    )


def keep_sbom(uow: UnitOfWork, version: SpellVersion, verdict: gate.Verdict, now: datetime) -> None:
    """Store the SBOM the version was published with (nothing when it has none)."""
    if verdict.sbom is not None:
        SupplyRepository().put_sbom(uow, version.id, verdict.sbom, now)


def require_sboms(
    uow: UnitOfWork,
    spell_id: str,
    versions: Sequence[SpellVersion],
    *,
    visibility: str,
    settings: SupplySettings,
) -> None:
    """Refuse ``visibility`` when the deployment requires an SBOM there and a version that can still be
    cast (not yanked) was published without one."""
    if visibility not in settings.sbom_required_for:
        return
    repo = SupplyRepository()
    missing = sorted(v.version for v in versions if not v.is_yanked and repo.get_sbom(uow, v.id) is None)
    if missing:
        raise SbomRequired(
            f"{spell_id} cannot be made {visibility}: versions {', '.join(missing)} have no SBOM",
            details={"spell_id": spell_id, "visibility": visibility, "versions": missing},
            hint="publish a version with sbom.spdx.json or sbom.cdx.json (spell sbom generate), "
            "and yank the versions without one",
        )
