"""The money side of a cast: fills the cast service's ``CastMoney`` seam with real holds and charges.

``reserve`` holds the estimate (the manifest's price under the cast's limits) against the caster's
caps and wallet in the cast's own transaction; ``settle`` captures the measured cost, splits it and
releases the rest, recording the charge in the audit log; ``release`` frees a hold that never ran.
The caster is the casting user; the maker is the tenant that owns the spell.

``one_time`` pricing is bought once: a caster holding the spell (an entitlement) holds nothing and
pays nothing; otherwise the price is held, and the settling cast that charges it claims the
entitlement in the same transaction as the capture. A cast that finds the spell bought meanwhile (a
racing first cast won) releases its hold instead, so racing first casts charge once.
"""

from __future__ import annotations

from typing import Any

from spell.bundle.manifest import SpellManifest
from spell.kit.money import Money
from spell.models import Cast, Spell
from spell.platform import metrics
from spell.platform.audit.service import AuditService
from spell.platform.billing.entitlements import EntitlementService
from spell.platform.billing.pricing import (
    CastBounds,
    actual_cost,
    effective_pricing,
    estimate_max,
    reported_events,
)
from spell.platform.billing.revenue import RevenueShareService
from spell.platform.budget.service import BudgetService
from spell.runtimes.base import Limits, Outcome, Usage
from spell.storage.session import UnitOfWork

__all__ = ["LedgerCastMoney", "bounds_of", "estimate_of"]


def bounds_of(manifest: SpellManifest, limits: Limits | None = None) -> CastBounds:
    """The price bounds of a cast: its limits, or the manifest's own limits and the defaults."""
    if limits is None:
        wasm = manifest.runtime.wasm
        timeout = wasm.timeout_ms if wasm and wasm.timeout_ms else Limits().timeout_ms
        limits = Limits(timeout_ms=timeout)
    # Network requests are only possible towards declared hosts; one per ms is a hard ceiling.
    requests = limits.timeout_ms if manifest.runtime.policy.net_allow else 0
    return CastBounds.from_limits(limits, max_network_requests=requests)


def estimate_of(manifest: SpellManifest, limits: Limits | None = None) -> Money:
    """The most a cast of this manifest can cost under ``limits``."""
    return estimate_max(effective_pricing(manifest), bounds_of(manifest, limits))


class LedgerCastMoney:
    """``CastMoney`` over the ledger and budgets (the platform's default once money is on)."""

    def __init__(
        self,
        budgets: BudgetService,
        audit: AuditService,
        shares: RevenueShareService,
        entitlements: EntitlementService | None = None,
    ) -> None:
        self.budgets = budgets
        self.audit = audit
        self.shares = shares
        self.entitlements = entitlements or EntitlementService()

    def estimate(self, manifest: SpellManifest, limits: Limits | None = None) -> Money:
        """The most a cast of this manifest can cost under ``limits``."""
        return estimate_of(manifest, limits)

    def reserve(self, uow: UnitOfWork, cast: Cast, manifest: SpellManifest, limits: Limits) -> None:
        """Record the cast in the audit log and hold its estimate; free spells and ``one_time`` spells the
        caster bought hold nothing."""
        estimate = self.estimate(manifest, limits)
        data: dict[str, Any] = {"spell_id": cast.spell_id, "version": cast.version}
        if (
            estimate.micros
            and effective_pricing(manifest).model == "one_time"
            and self.entitlements.holds(uow, cast.user_id, cast.spell_id)
        ):
            estimate, data["entitled"] = Money.zero(estimate.currency), True
        self.audit.append(
            uow,
            "cast.created",
            actor_id=cast.user_id,
            tenant_id=cast.tenant_id,
            subject=cast.id,
            data={**data, "estimate": estimate.to_dict()},
        )
        if estimate.micros == 0:
            return
        spell = uow.session.get(Spell, cast.spell_id)
        maker_id = spell.tenant_id if spell else cast.spell_id.split("/", 1)[0]
        self.budgets.reserve(
            uow,
            cast_id=cast.id,
            caster_id=cast.user_id,
            spell_id=cast.spell_id,
            maker_id=maker_id,
            estimate=estimate,
            maker_share_bps=self.shares.share_of(uow, cast.spell_id),
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
        hold = self.budgets.hold(uow, cast.id)
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
            self.budgets.release(uow, cast.id, reason=charge.reason)
            return
        buying = pricing.model == "one_time"
        if buying and not self.entitlements.claim(
            uow, hold.caster_id, hold.spell_id, cast.id, charge.amount, at=self.budgets.clock.now()
        ):
            self.budgets.release(uow, cast.id, reason="already_bought")
            return
        result = self.budgets.capture(uow, cast.id, charge.amount)
        if buying and result.applied:
            txn = self.budgets.ledger.find(uow, f"{cast.id}:capture")
            if txn is not None:
                self.entitlements.paid_by(uow, hold.caster_id, hold.spell_id, txn.id)
        if result.applied:
            captured = charge.amount
            uow.after_commit(lambda: metrics.revenue(captured.currency, captured.micros))
            self.audit.append(
                uow,
                "charge.captured",
                actor_id=cast.user_id,
                tenant_id=cast.tenant_id,
                subject=cast.id,
                data={"spell_id": cast.spell_id, "reason": charge.reason, **charge.amount.to_dict()},
            )

    def release(self, uow: UnitOfWork, cast: Cast) -> None:
        """Give back the whole hold of a cast that never ran or was lost by the platform."""
        self._terminal(uow, cast, "NOT_RUN")
        if self.budgets.hold(uow, cast.id) is not None:
            self.budgets.release(uow, cast.id, reason="not_charged")

    def _terminal(self, uow: UnitOfWork, cast: Cast, outcome: str) -> None:
        self.audit.append(
            uow,
            "cast.terminal",
            actor_id=cast.user_id,
            tenant_id=cast.tenant_id,
            subject=cast.id,
            data={"spell_id": cast.spell_id, "outcome": outcome},
        )
