"""Abuse settings: ``SPELL_ABUSE_*`` (when policy violations suspend a spell or a user)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from spell.config.group import layered, read, setting

__all__ = ["AbuseSettings"]


@dataclass(frozen=True)
class AbuseSettings:
    """How many policy violations within a window suspend their subject, and what makes a rate-limit
    storm."""

    env_prefix: ClassVar[str] = "SPELL_ABUSE_"

    suspend_threshold: int = setting(
        10, "violations of one spell or user within the window that suspend it; 0 never suspends", ge=0
    )
    window_hours: int = setting(24, "hours over which a subject's violations are counted", ge=1)
    storm_refusals: int = setting(
        30,
        "rate-limit refusals of one user within a minute that count as one violation; 0 records none",
        ge=0,
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AbuseSettings:
        """Read ``SPELL_ABUSE_*``."""
        return read(cls, layered(environ), cls())
