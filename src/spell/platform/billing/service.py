"""The money side of a cast: fills the cast service's ``CastMoney`` seam with real holds and charges.

``reserve`` holds the estimate (the manifest's price under the cast's limits) against the caster's
caps and wallet in the cast's own transaction; ``settle`` captures the measured cost, splits it and
releases the rest, recording the charge in the audit log; ``release`` frees a hold that never ran.
The caster is the casting user; the maker is the tenant that owns the spell.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from spell.bundle.manifest import SpellManifest
from spell.errors import InvalidInput
from spell.kit.money import BASIS_POINTS, Money
from spell.kit.time import utcnow
from spell.models import Cast, Spell
from spell.models.payment import RevenueShare
from spell.platform.audit.service import AuditService
from spell.platform.billing.pricing import (
    DEFAULT_MAKER_SHARE_BPS,
    CastBounds,
    actual_cost,
    effective_pricing,
    estimate_max,
    reported_events,
)
from spell.platform.budget.service import BudgetService
from spell.runtimes.base import Limits, Outcome, Usage
from spell.storage.session import UnitOfWork

__all__ = ["LedgerCastMoney", "bounds_of", "maker_share_of", "set_maker_share"]


def bounds_of(manifest: SpellManifest, limits: Limits | None = None) -> CastBounds:
    """The price bounds of a cast: its limits, or the manifest's own limits and the defaults."""
    if limits is None:
        wasm = manifest.runtime.wasm
        timeout = wasm.timeout_ms if wasm and wasm.timeout_ms else Limits().timeout_ms
        limits = Limits(timeout_ms=timeout)
    # Network requests are only possible towards declared hosts; one per ms is a hard ceiling.
    requests = limits.timeout_ms if manifest.runtime.policy.net_allow else 0
    return CastBounds.from_limits(limits, max_network_requests=requests)


def maker_share_of(session: Session, spell_id: str, default: int = DEFAULT_MAKER_SHARE_BPS) -> int:
    """The maker's share of a spell's revenue in basis points (operator override or the default)."""
    override = session.get(RevenueShare, spell_id)
    return int(override.maker_share_bps) if override else default


def set_maker_share(session: Session, spell_id: str, bps: int, *, operator_id: str | None) -> None:
    """Set a spell's maker share (operator action); applies to holds made from now on."""
    if not 0 <= bps <= BASIS_POINTS:
        raise InvalidInput(f"maker share must be 0..{BASIS_POINTS} basis points", details={"bps": bps})
    row = session.get(RevenueShare, spell_id)
    if row is None:
        row = RevenueShare(
            spell_id=spell_id, maker_share_bps=bps, updated_by=operator_id, updated_at=utcnow()
        )
        session.add(row)
    else:
        row.maker_share_bps, row.updated_by, row.updated_at = bps, operator_id, utcnow()
    session.flush()


class LedgerCastMoney:
    """``CastMoney`` over the ledger and budgets (the platform's default once money is on)."""

    def __init__(
        self,
        *,
        default_maker_share_bps: int = DEFAULT_MAKER_SHARE_BPS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.default_maker_share_bps = default_maker_share_bps
        self.clock = clock

    def estimate(self, manifest: SpellManifest, limits: Limits | None = None) -> Money:
        """The most a cast of this manifest can cost under ``limits``."""
        return estimate_max(effective_pricing(manifest), bounds_of(manifest, limits))

    def reserve(self, uow: UnitOfWork, cast: Cast, manifest: SpellManifest, limits: Limits) -> None:
        """Record the cast in the audit log and hold its estimate; free spells hold nothing."""
        estimate = self.estimate(manifest, limits)
        AuditService(uow.session, clock=self.clock).append(
            "cast.created",
            actor_id=cast.user_id,
            tenant_id=cast.tenant_id,
            subject=cast.id,
            data={"spell_id": cast.spell_id, "version": cast.version, "estimate": estimate.to_dict()},
        )
        if estimate.micros == 0:
            return
        spell = uow.session.get(Spell, cast.spell_id)
        maker_id = spell.tenant_id if spell else cast.spell_id.split("/", 1)[0]
        BudgetService(uow.session, clock=self.clock).reserve(
            cast_id=cast.id,
            caster_id=cast.user_id,
            spell_id=cast.spell_id,
            maker_id=maker_id,
            estimate=estimate,
            maker_share_bps=maker_share_of(uow.session, cast.spell_id, self.default_maker_share_bps),
        )

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
        """Capture the measured cost (never above the hold) or release it all, once.

        ``output`` is the spell's JSON output; a ``per_event`` spell reports its events in it.
        """
        self._terminal(uow, cast, outcome.value)
        pricing = effective_pricing(manifest)
        if pricing.model == "free":  # ``reserve`` never holds anything for a free spell
            return
        budgets = BudgetService(uow.session, clock=self.clock)
        hold = budgets.hold(cast.id)
        if hold is None or hold.status != "held":
            return
        charge = actual_cost(
            pricing,
            outcome=outcome,
            usage=usage,
            hold=Money(hold.amount_micros, hold.currency),
            bounds=bounds_of(manifest),
            events=reported_events(output, pricing),
        )
        if charge.amount.micros == 0:
            budgets.release(cast.id, reason=charge.reason)
            return
        result = budgets.capture(cast.id, charge.amount)
        if result.applied:
            AuditService(uow.session, clock=self.clock).append(
                "charge.captured",
                actor_id=cast.user_id,
                tenant_id=cast.tenant_id,
                subject=cast.id,
                data={"spell_id": cast.spell_id, "reason": charge.reason, **charge.amount.to_dict()},
            )

    def release(self, uow: UnitOfWork, cast: Cast) -> None:
        """Give back the whole hold of a cast that never ran or was lost by the platform."""
        self._terminal(uow, cast, "NOT_RUN")
        budgets = BudgetService(uow.session, clock=self.clock)
        if budgets.hold(cast.id) is not None:
            budgets.release(cast.id, reason="not_charged")

    def _terminal(self, uow: UnitOfWork, cast: Cast, outcome: str) -> None:
        AuditService(uow.session, clock=self.clock).append(
            "cast.terminal",
            actor_id=cast.user_id,
            tenant_id=cast.tenant_id,
            subject=cast.id,
            data={"spell_id": cast.spell_id, "outcome": outcome},
        )
