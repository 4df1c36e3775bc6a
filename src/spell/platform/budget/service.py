"""Reserve a cast's estimate against the caster's caps and wallet, then capture, release or refund it.

Race-freedom: a reservation first bumps the caster's budget row. On PostgreSQL that row lock
serialises one caster's reservations until commit, so the checks below it read settled totals; on
SQLite the write unit of work began ``IMMEDIATE`` and holds the database write lock. The wallet is
debited with a guarded ``UPDATE … WHERE balance >= x`` on both. Settling a hold flips its status
with a conditional update first, so a capture, release or refund happens exactly once however often
it is retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from spell.errors import CastNotFound, InvalidInput
from spell.kit.clock import Clock, SystemClock
from spell.kit.money import Money
from spell.models.budget import WINDOWS, Budget, Hold
from spell.platform import metrics
from spell.platform.audit.service import AuditService
from spell.platform.billing.errors import RefundNotCovered
from spell.platform.billing.pricing import split_revenue
from spell.platform.budget.errors import BudgetCapExceeded
from spell.platform.budget.repository import BudgetRepository
from spell.platform.budget.schemas import BudgetCaps, BudgetView, WindowUsage
from spell.platform.budget.windows import seconds_to_reset, window_start
from spell.platform.ledger.service import PLATFORM, LedgerService, Leg
from spell.storage.session import UnitOfWork

__all__ = ["BudgetService", "Settlement"]


@dataclass(frozen=True)
class Settlement:
    """What settling a hold did: ``applied`` is False when it had been settled before.

    A refund also says what the maker gave back and which ledger transaction moved it.
    """

    cast_id: str
    status: str
    charged: Money
    applied: bool
    maker_micros: int = 0
    transaction_id: str | None = None


class BudgetService:
    """Budgets and holds; stateless, every method works in the unit of work it is given."""

    def __init__(
        self,
        ledger: LedgerService,
        audit: AuditService,
        *,
        clock: Clock | None = None,
        repository: BudgetRepository | None = None,
    ) -> None:
        self.ledger = ledger
        self.audit = audit
        self.clock = clock or SystemClock()
        self.repo = repository or BudgetRepository()

    # -- caps ---------------------------------------------------------------------------------
    def caps(self, uow: UnitOfWork, caster_id: str) -> BudgetCaps:
        """The caster's caps (none set: all ``None``)."""
        budget = self.repo.get(uow.session, caster_id)
        return BudgetCaps() if budget is None else BudgetCaps.from_row(budget)

    def set_caps(
        self, uow: UnitOfWork, caster_id: str, caps: BudgetCaps, *, tenant_id: str | None = None
    ) -> BudgetView:
        """Replace the caster's caps, recorded in the audit log; the currency can change only while
        nothing is held. Answers the budget as it now stands."""
        # Audit first: one lock order (audit head, then budget row) in every money transaction.
        self.audit.append(
            uow,
            "budget.changed",
            actor_id=caster_id,
            tenant_id=tenant_id,
            subject=caster_id,
            data=caps.model_dump(),
        )
        now = self.clock.now()
        budget = self.repo.lock(uow.session, caster_id, caps.currency, now)
        if budget.currency != caps.currency and self.repo.has_open_holds(uow.session, caster_id):
            raise InvalidInput(
                "the budget currency cannot change while casts hold money",
                details={"currency": budget.currency, "requested": caps.currency},
            )
        budget.currency = caps.currency
        budget.per_cast_micros = caps.per_cast_micros
        budget.daily_micros = caps.daily_micros
        budget.monthly_micros = caps.monthly_micros
        budget.total_micros = caps.total_micros
        budget.updated_at = now
        uow.session.flush()
        return self.view(uow, caster_id)

    def view(self, uow: UnitOfWork, caster_id: str) -> BudgetView:
        """Caps, the usage of every window now, and the wallet balance."""
        caps = self.caps(uow, caster_id)
        now = self.clock.now()
        windows = []
        for window in WINDOWS:
            usage = self.repo.usage(uow.session, caster_id, window, window_start(window, now))
            windows.append(
                WindowUsage(
                    window=window,
                    cap_micros=getattr(caps, f"{window}_micros"),
                    spent_micros=usage.spent_micros if usage else 0,
                    reserved_micros=usage.reserved_micros if usage else 0,
                    resets_in_seconds=seconds_to_reset(window, now),
                )
            )
        balance = self.ledger.balance(uow, caster_id, "wallet", caps.currency)
        return BudgetView(caps=caps, windows=windows, balance_micros=balance.micros, currency=caps.currency)

    # -- holds --------------------------------------------------------------------------------
    def reserve(
        self,
        uow: UnitOfWork,
        *,
        cast_id: str,
        caster_id: str,
        spell_id: str,
        maker_id: str,
        estimate: Money,
        maker_share_bps: int,
    ) -> Hold:
        """Hold ``estimate`` for a cast, or raise ``BUDGET_CAP_EXCEEDED`` / ``INSUFFICIENT_CREDITS``."""
        now = self.clock.now()
        budget = self.repo.lock(uow.session, caster_id, estimate.currency, now)
        if budget.currency != estimate.currency:
            raise InvalidInput(
                f"this spell is priced in {estimate.currency} but the budget is in {budget.currency}",
                details={"budget_currency": budget.currency, "spell_currency": estimate.currency},
            )
        self._check_caps(uow, budget, estimate, now)
        hold = Hold(
            cast_id=cast_id,
            caster_id=caster_id,
            spell_id=spell_id,
            maker_id=maker_id,
            currency=estimate.currency,
            amount_micros=estimate.micros,
            captured_micros=0,
            maker_share_bps=maker_share_bps,
            status="held",
            day_start=window_start("daily", now),
            month_start=window_start("monthly", now),
            created_at=now,
        )
        uow.session.add(hold)
        self.ledger.post(
            uow,
            f"{cast_id}:reserve",
            kind="reserve",
            currency=estimate.currency,
            legs=[Leg(caster_id, "wallet", -estimate.micros), Leg(caster_id, "holds", estimate.micros)],
            cast_id=cast_id,
        )
        self._move_windows(uow, hold, reserved=estimate.micros, spent=0)
        uow.session.flush()
        return hold

    def _check_caps(self, uow: UnitOfWork, budget: Budget, estimate: Money, now: datetime) -> None:
        if budget.per_cast_micros is not None and estimate.micros > budget.per_cast_micros:
            raise self._cap_error("per_cast", budget.per_cast_micros, 0, 0, estimate, None)
        for window in WINDOWS:
            cap = getattr(budget, f"{window}_micros")
            if cap is None:
                continue
            usage = self.repo.usage(uow.session, budget.caster_id, window, window_start(window, now))
            spent = usage.spent_micros if usage else 0
            reserved = usage.reserved_micros if usage else 0
            if spent + reserved + estimate.micros > cap:
                raise self._cap_error(window, cap, spent, reserved, estimate, seconds_to_reset(window, now))

    @staticmethod
    def _cap_error(
        window: str, cap: int, spent: int, reserved: int, estimate: Money, retry_after: int | None
    ) -> BudgetCapExceeded:
        return BudgetCapExceeded(
            f"the {window} budget cap would be exceeded: spent {spent} + reserved {reserved}"
            f" + estimate {estimate.micros} > cap {cap} micro-{estimate.currency}",
            details={
                "cap": cap,
                "window": window,
                "spent": spent,
                "reserved": reserved,
                "estimate": estimate.micros,
                "currency": estimate.currency,
            },
            retry_after=retry_after,
            hint="raise the cap with PUT /v1/budget, or wait for the window to reset",
        )

    def capture(self, uow: UnitOfWork, cast_id: str, amount: Money) -> Settlement:
        """Charge ``amount`` (clamped to the hold) and release the rest; a second call changes nothing."""
        hold = self._hold(uow, cast_id)
        charged = min(max(amount.micros, 0), hold.amount_micros)
        if not self._flip(uow, cast_id, "held", "captured", captured=charged):
            return Settlement(cast_id, hold.status, Money(hold.captured_micros, hold.currency), applied=False)
        split = split_revenue(Money(charged, hold.currency), maker_share_bps=hold.maker_share_bps)
        self.ledger.post(
            uow,
            f"{cast_id}:capture",
            kind="capture",
            currency=hold.currency,
            legs=[
                Leg(hold.caster_id, "holds", -hold.amount_micros),
                Leg(hold.caster_id, "wallet", hold.amount_micros - charged),
                Leg(hold.maker_id, "earnings", split.maker.micros),
                Leg(PLATFORM, "revenue", split.platform.micros),
            ],
            cast_id=cast_id,
            memo={"spell_id": hold.spell_id, "maker_share_bps": hold.maker_share_bps},
        )
        self._move_windows(uow, hold, reserved=-hold.amount_micros, spent=charged)
        return Settlement(cast_id, "captured", Money(charged, hold.currency), applied=True)

    def release(self, uow: UnitOfWork, cast_id: str, *, reason: str) -> Settlement:
        """Give the whole hold back (aborted, platform fault); a second call changes nothing."""
        hold = self._hold(uow, cast_id)
        if not self._flip(uow, cast_id, "held", "released", captured=0):
            return Settlement(cast_id, hold.status, Money(hold.captured_micros, hold.currency), applied=False)
        self.ledger.post(
            uow,
            f"{cast_id}:release",
            kind="release",
            currency=hold.currency,
            legs=[
                Leg(hold.caster_id, "holds", -hold.amount_micros),
                Leg(hold.caster_id, "wallet", hold.amount_micros),
            ],
            cast_id=cast_id,
            memo={"reason": reason},
        )
        self._move_windows(uow, hold, reserved=-hold.amount_micros, spent=0)
        return Settlement(cast_id, "released", Money.zero(hold.currency), applied=True)

    def refund(
        self,
        uow: UnitOfWork,
        cast_id: str,
        *,
        reason: str,
        amount: Money | None = None,
        refunded_before: int = 0,
    ) -> Settlement:
        """Give ``amount`` (default: all that is left) of a captured charge back to the caster's wallet.

        The caller serialises refunds of one cast (the caster's budget row lock) and says how much was
        refunded before. Maker and platform give back their parts of the cumulative refund as the
        capture split it, so refunding everything in pieces reverses exactly what the capture moved.
        The maker gives back at most their current earnings (what was paid out is gone); the platform's
        revenue bears the rest, and ``REFUND_NOT_COVERED`` when it cannot. Refunding the last part flips
        the hold to ``refunded``; a hold refunded in full changes nothing (``applied`` False).
        """
        hold = self._hold(uow, cast_id)
        if hold.status != "captured":
            return Settlement(cast_id, hold.status, Money.zero(hold.currency), applied=False)
        left = hold.captured_micros - refunded_before
        micros = left if amount is None else amount.micros
        if not 0 < micros <= left:
            raise InvalidInput(
                "a refund must be positive and within what is left of the charge",
                details={"amount_micros": micros, "refundable_micros": left},
            )
        after = refunded_before + micros
        if after == hold.captured_micros and not self._flip(
            uow, cast_id, "captured", "refunded", captured=hold.captured_micros
        ):
            return Settlement(cast_id, hold.status, Money.zero(hold.currency), applied=False)
        maker_part = self._maker_part(hold, after) - self._maker_part(hold, refunded_before)
        earnings = self.ledger.balance(uow, hold.maker_id, "earnings", hold.currency).micros
        maker_take = min(maker_part, earnings)
        platform_take = micros - maker_take
        revenue = self.ledger.balance(uow, PLATFORM, "revenue", hold.currency).micros
        if platform_take > revenue:
            raise RefundNotCovered(
                "the maker was paid out and the platform's revenue cannot cover this refund",
                details={"maker_shortfall_micros": maker_part - maker_take, "revenue_micros": revenue},
            )
        txn = self.ledger.post(
            uow,
            f"{cast_id}:refund:{after}",
            kind="refund",
            currency=hold.currency,
            legs=[
                Leg(hold.maker_id, "earnings", -maker_take),
                Leg(PLATFORM, "revenue", -platform_take),
                Leg(hold.caster_id, "wallet", micros),
            ],
            cast_id=cast_id,
            memo={"reason": reason, "maker_shortfall_micros": maker_part - maker_take},
        )
        self._move_windows(uow, hold, reserved=0, spent=-micros)
        currency = hold.currency
        uow.after_commit(lambda: metrics.refunded("cast", currency, micros))
        status = "refunded" if after == hold.captured_micros else "captured"
        return Settlement(
            cast_id,
            status,
            Money(micros, hold.currency),
            applied=True,
            maker_micros=maker_take,
            transaction_id=txn.id,
        )

    @staticmethod
    def _maker_part(hold: Hold, micros: int) -> int:
        return split_revenue(Money(micros, hold.currency), maker_share_bps=hold.maker_share_bps).maker.micros

    def lock_caster(self, uow: UnitOfWork, caster_id: str, currency: str) -> None:
        """Serialise this caster's money moves until commit (row lock on PostgreSQL; SQLite's write
        unit of work holds the database lock already)."""
        self.repo.lock(uow.session, caster_id, currency, self.clock.now())

    def hold(self, uow: UnitOfWork, cast_id: str) -> Hold | None:
        """The hold of a cast, if it has one (free casts have none)."""
        return self.repo.hold(uow.session, cast_id)

    def _hold(self, uow: UnitOfWork, cast_id: str) -> Hold:
        hold = self.hold(uow, cast_id)
        if hold is None:
            raise CastNotFound(f"cast {cast_id} holds no money", details={"cast_id": cast_id})
        return hold

    def _flip(self, uow: UnitOfWork, cast_id: str, old: str, new: str, *, captured: int) -> bool:
        return self.repo.flip(uow.session, cast_id, old, new, captured=captured, now=self.clock.now())

    def _move_windows(self, uow: UnitOfWork, hold: Hold, *, reserved: int, spent: int) -> None:
        # A hold counts in the windows it was reserved in, even when it settles after midnight.
        starts = {
            "daily": hold.day_start,
            "monthly": hold.month_start,
            "total": window_start("total", hold.day_start),
        }
        for window, start in starts.items():
            self.repo.add(uow.session, hold.caster_id, window, start, reserved=reserved, spent=spent)
