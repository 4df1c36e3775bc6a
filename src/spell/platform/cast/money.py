"""The pricing and budget seam every cast goes through.

The money domain implements ``CastMoney`` (estimate, reserve against caps and balance, capture the
actual cost, release the rest); until it is wired in, ``FreeCasts`` makes every cast free. All three
calls run inside the cast's own transactions, so a reservation and the cast row commit together.
"""

from __future__ import annotations

from typing import Any, Protocol

from spell.bundle.manifest import SpellManifest
from spell.models import Cast
from spell.runtimes.base import Limits, Outcome, Usage
from spell.storage.session import UnitOfWork

__all__ = ["CastMoney", "FreeCasts"]


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


class FreeCasts:
    """Every cast costs nothing."""

    def reserve(self, uow: UnitOfWork, cast: Cast, manifest: SpellManifest, limits: Limits) -> None:
        """Nothing to hold."""

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
        """Nothing to capture."""

    def release(self, uow: UnitOfWork, cast: Cast) -> None:
        """Nothing to release."""
