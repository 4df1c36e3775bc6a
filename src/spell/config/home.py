"""Where Spell keeps its local state (``SPELL_HOME``, default ``~/.spell``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SpellHome"]


@dataclass(frozen=True)
class SpellHome:
    """The layout of ``$SPELL_HOME``: store, trust, logs, policy, licences, registry, caches."""

    root: Path

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> SpellHome:
        """Resolve ``SPELL_HOME`` from the environment, defaulting to ``~/.spell``."""
        env = os.environ if environ is None else environ
        raw = env.get("SPELL_HOME")
        return cls(Path(raw).expanduser() if raw else Path.home() / ".spell")

    @property
    def spells(self) -> Path:
        """Installed bundles: ``spells/<base64url(id)>/<version>/``."""
        return self.root / "spells"

    @property
    def trust(self) -> Path:
        """Trusted publisher keys: ``trust/publishers/<base64url(publisher)>.json``."""
        return self.root / "trust" / "publishers"

    @property
    def sigstore_trust(self) -> Path:
        """Trusted Sigstore identities: ``trust/sigstore/<base64url(publisher)>.json``."""
        return self.root / "trust" / "sigstore"

    @property
    def logs(self) -> Path:
        """Execution logs of local casts."""
        return self.root / "logs"

    @property
    def policy_file(self) -> Path:
        """The local policy file (v1)."""
        return self.root / "policy.json"

    @property
    def licenses(self) -> Path:
        """Entitlement tokens."""
        return self.root / "licenses"

    @property
    def registry_file(self) -> Path:
        """Configured registry indexes."""
        return self.root / "registry.json"

    @property
    def cache(self) -> Path:
        """Caches that can be deleted at any time (compiled modules, git checkouts)."""
        return self.root / "cache"
