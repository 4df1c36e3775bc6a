"""Registry settings: ``SPELL_REGISTRY_REQUIRED_PINS`` (none|commit|digest|both, default both) and
``SPELL_REGISTRY_FETCH_TIMEOUT_S`` (seconds a clone, index download or image copy may take; 120)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from spell.config.runtime import env_int
from spell.errors import InvalidInput

__all__ = ["REQUIRED_PINS_CHOICES", "RegistrySettings"]

REQUIRED_PINS_CHOICES = ("none", "commit", "digest", "both")


@dataclass(frozen=True)
class RegistrySettings:
    """Which pins a registry entry must carry, and how long an index fetch may take."""

    required_pins: str = "both"
    fetch_timeout_s: int = 120

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> RegistrySettings:
        """Read ``SPELL_REGISTRY_*``; refuse an unknown pin policy with the allowed values."""
        env = os.environ if environ is None else environ
        raw = env.get("SPELL_REGISTRY_REQUIRED_PINS", "").strip().lower()
        if raw and raw not in REQUIRED_PINS_CHOICES:
            raise InvalidInput(
                "SPELL_REGISTRY_REQUIRED_PINS must be one of: none, commit, digest, both",
                details={"value": raw},
            )
        return cls(
            required_pins=raw or cls.required_pins,
            fetch_timeout_s=env_int(env, "SPELL_REGISTRY_FETCH_TIMEOUT_S", cls.fetch_timeout_s, minimum=1),
        )
