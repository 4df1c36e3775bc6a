"""The limits a cast runs under on this server: what its runtime enforces, within the operator's maxima.

The same limits size the cast's hold, bound its run and say when a lost runner's cast counts as
orphaned, so all three ask here.
"""

from __future__ import annotations

from spell.bundle.manifest import SpellManifest
from spell.config.wasm import WasmSettings
from spell.runtimes.base import Limits
from spell.runtimes.limits import limits_for

__all__ = ["CastLimits"]

_KEPT = 1024


class CastLimits:
    """``limits_for`` under the operator's WASM maxima, remembered per manifest."""

    def __init__(self, maxima: WasmSettings) -> None:
        self.maxima = maxima
        # A cast asks three times (hold, run, sweep); manifests are cached per version, so their
        # identity (kept alive by the entry) is a sound key.
        self._known: dict[int, tuple[SpellManifest, Limits]] = {}

    def of(self, manifest: SpellManifest) -> Limits:
        """The limits a cast of ``manifest`` runs under here."""
        hit = self._known.get(id(manifest))
        if hit is not None and hit[0] is manifest:
            return hit[1]
        limits = limits_for(manifest, self.maxima)
        if len(self._known) >= _KEPT:
            self._known.clear()
        self._known[id(manifest)] = (manifest, limits)
        return limits
