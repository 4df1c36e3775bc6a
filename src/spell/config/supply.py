"""Supply-chain gate settings: ``SPELL_SUPPLY_*`` (SBOM, advisories, licences, Sigstore)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from spell.config.group import layered, read, setting

__all__ = ["SupplySettings"]


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class SupplySettings:
    """What a bundle must show to be published, and how long a newly vulnerable version stays listed."""

    env_prefix: ClassVar[str] = "SPELL_SUPPLY_"

    sbom_required_for: tuple[str, ...] = setting(
        ("public",),
        "comma-separated visibilities whose spells must carry an SBOM (`SBOM_REQUIRED`); empty: none",
        parse=_names,
    )
    block_score: float = setting(
        7.0, "an advisory at or above this CVSS base score refuses the publish; lower ones warn", ge=0, le=10
    )
    license_allow: tuple[str, ...] = setting(
        (), "comma-separated SPDX licence ids a component may use; empty allows all not denied", parse=_names
    )
    license_deny: tuple[str, ...] = setting((), "comma-separated SPDX licence ids refused", parse=_names)
    grace_days: int = setting(
        14, "days a version newly found vulnerable stays listed before it is delisted", ge=0
    )
    rescan_interval_s: int = setting(
        86_400, "seconds between re-scans of every published version; 0 scans only after imports", ge=0
    )
    sigstore_trusted_root: Path | None = setting(
        None,
        "pinned Sigstore trusted root (JSON) that `spell.sigstore.json` bundles are verified against",
        shown_default="none (publishers cannot require Sigstore)",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SupplySettings:
        """Read ``SPELL_SUPPLY_*``."""
        return read(cls, layered(environ), cls())
