"""Registry settings: ``SPELL_REGISTRY_*`` — the pins an entry must carry and the fetch timeout."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from spell.config.group import layered, read, setting

__all__ = ["REQUIRED_PINS_CHOICES", "RegistrySettings"]

REQUIRED_PINS_CHOICES = ("none", "commit", "digest", "both")


@dataclass(frozen=True)
class RegistrySettings:
    """Which pins a registry entry must carry, and how long an index fetch may take."""

    env_prefix: ClassVar[str] = "SPELL_REGISTRY_"

    required_pins: str = setting(
        "both",
        "pins a registry entry must carry: none, commit, digest or both",
        choices=REQUIRED_PINS_CHOICES,
    )
    fetch_timeout_s: int = setting(120, "seconds a clone, index download or image copy may take", ge=1)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RegistrySettings:
        """Read ``SPELL_REGISTRY_*``; refuse an unknown pin policy with the allowed values."""
        return read(cls, layered(environ), cls())
