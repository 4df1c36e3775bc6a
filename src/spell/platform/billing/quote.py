"""What a cast of a spell would hold, quoted before casting, with the caller's balance beside it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from spell.bundle.manifest import SpellManifest
from spell.kit.money import Money
from spell.platform.auth.schemas import Principal
from spell.platform.billing.entitlements import EntitlementService
from spell.platform.billing.pricing import effective_pricing
from spell.platform.billing.schemas import Estimate
from spell.platform.billing.service import estimate_of
from spell.platform.budget.service import BudgetService
from spell.platform.ledger.schemas import MoneyAmount
from spell.runtimes.base import Limits
from spell.storage.session import UnitOfWork

if TYPE_CHECKING:
    from spell.platform.spell.service import SpellService

__all__ = ["QuoteService"]


class QuoteService:
    """Estimates; stateless, every method works in the unit of work it is given."""

    def __init__(
        self,
        spells: SpellService,
        limits_of: Callable[[SpellManifest], Limits],
        budgets: BudgetService,
        entitlements: EntitlementService | None = None,
    ) -> None:
        self.spells = spells
        self.limits_of = limits_of
        self.budgets = budgets
        self.entitlements = entitlements or EntitlementService()

    def estimate(self, uow: UnitOfWork, principal: Principal, spell_id: str, version: str | None) -> Estimate:
        """The most one cast of a spell the caller may see can cost under the limits it would run with
        (nothing for a ``one_time`` spell the caller bought)."""
        principal.require("spell:read")
        spell = self.spells.visible(uow, principal, spell_id)
        found = self.spells.version(uow, spell, version)
        manifest = self.spells.manifest_of(found)
        amount = estimate_of(manifest, self.limits_of(manifest))
        pricing = effective_pricing(manifest)
        if pricing.model == "one_time" and self.entitlements.holds(uow, principal.user_id, spell.id):
            amount = Money.zero(amount.currency)
        caps = self.budgets.caps(uow, principal.user_id)
        balance = (
            self.budgets.ledger.balance(uow, principal.user_id, "wallet", caps.currency).micros
            if caps.currency == amount.currency
            else None
        )
        return Estimate(
            spell_id=spell.id,
            version=found.version,
            pricing_model=pricing.model,
            charge_on_failure=pricing.charge_on_failure,
            estimate=MoneyAmount.of(amount),
            balance_micros=balance,
        )
