"""The pricing and budget seam every cast goes through.

The money domain implements ``CastMoney`` (``platform/billing``'s ``LedgerCastMoney``: reserve against
caps and balance, capture the actual cost, release the rest). All three calls run inside the cast's own
transactions, so a reservation and the cast row commit together.
"""

from __future__ import annotations

from typing import Any, Protocol

from spell.bundle.manifest import SpellManifest
from spell.models import Cast
from spell.runtimes.base import Limits, Outcome, Usage
from spell.storage.session import UnitOfWork

__all__ = ["CastMoney"]


class CastMoney(Protocol):
    """Holds money for a cast before it is queued, and settles it when it ends."""

    def reserve(self, uow: UnitOfWork, cast: Cast, manifest: SpellManifest, limits: Limits) -> None:
        """Hold the maximum cost; raise ``BUDGET_CAP_EXCEEDED`` / ``INSUFFICIENT_CREDITS`` to refuse."""
        ...

    def settle(
        self,
        uow: UnitOfWork,
        cast: Cast,
        manifest: SpellManifest,
        outcome: Outcome,
        usage: Usage,
        *,
        output: Any = None,
    ) -> None:
        """Capture what the cast cost (never above the hold), split it, release the rest.

        ``output`` is the spell's JSON output (``per_event`` spells report their events in it).
        """
        ...

    def release(self, uow: UnitOfWork, cast: Cast) -> None:
        """Release the whole hold of a cast that never ran (canceled or aborted before start)."""
        ...
