"""Data-subject rights settings: ``SPELL_PRIVACY_*`` (how long an erased user's data waits to be purged)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from spell.config.group import layered, read, setting

__all__ = ["PrivacySettings"]


@dataclass(frozen=True)
class PrivacySettings:
    """When an erased user's casts, logs and artifacts are purged; how many casts an export reads at once."""

    env_prefix: ClassVar[str] = "SPELL_PRIVACY_"

    grace_days: int = setting(
        90,
        "days between erasing a user (anonymised at once) and purging their casts, logs and artifacts",
        ge=0,
    )
    export_batch: int = setting(200, "casts read per query while writing an export", ge=1, le=10_000)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PrivacySettings:
        """Read ``SPELL_PRIVACY_*``."""
        return read(cls, layered(environ), cls())
