"""Operator refunds: of a cast's charge (back to the caster's wallet) or of a card top-up (to the card).

Who bears a cast refund: maker and platform give back their parts of it as the capture split them
(see ``BudgetService.refund``), except what the maker was already paid out, which the platform's
revenue bears. A card refund takes the amount out of the caster's wallet (it must still hold it:
credit already spent is not refunded to the card) and asks the provider to refund the payment under
``refund:<payment>:<cumulative>``, the same position the ``charge.refunded`` webhook later reports, so
the money leaves once. Every refund is idempotent per ``Idempotency-Key`` and audited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, func, select, update

from spell.errors import InvalidInput
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.kit.money import Money
from spell.models import User
from spell.models.payment import PaymentRecord
from spell.models.refund import Refund
from spell.platform import metrics
from spell.platform.audit.service import AuditService
from spell.platform.billing.entitlements import EntitlementService
from spell.platform.billing.errors import (
    AlreadyRefunded,
    ChargeNotFound,
    RefundExceedsCharge,
    RefundNotCovered,
)
from spell.platform.billing.idempotency import check_key, conflict, request_digest
from spell.platform.billing.payments import PaymentService
from spell.platform.billing.schemas import RefundCreate, RefundOut, RefundPage
from spell.platform.budget.service import BudgetService
from spell.platform.ledger.repository import insert_ignore
from spell.platform.ledger.service import PLATFORM, LedgerService, Leg
from spell.storage.session import UnitOfWork

__all__ = ["RefundHook", "RefundService"]

# (uow, tenant_id, event type, payload): where a "refund" event leaves for the caster's webhooks.
RefundHook = Callable[[UnitOfWork, str | None, str, dict[str, Any]], None]


def _no_hook(uow: UnitOfWork, tenant_id: str | None, event_type: str, payload: dict[str, Any]) -> None:
    """No webhook delivery is wired (see ``RefundService.notify``)."""


class RefundService:
    """Refunds; stateless, every method works in the unit of work it is given."""

    def __init__(
        self,
        ledger: LedgerService,
        audit: AuditService,
        budgets: BudgetService,
        payments: PaymentService,
        entitlements: EntitlementService,
        *,
        clock: Clock | None = None,
        notify: RefundHook | None = None,
    ) -> None:
        self.ledger = ledger
        self.audit = audit
        self.budgets = budgets
        self.payments = payments
        self.entitlements = entitlements
        self.clock = clock or SystemClock()
        # Integration point for durable webhooks: wire ``WebhookService.emit`` here, e.g.
        # ``RefundService(..., notify=webhooks.emit)``; it is called inside the refund's transaction.
        self.notify: RefundHook = notify or _no_hook

    def create(
        self, uow: UnitOfWork, body: RefundCreate, *, idempotency_key: str | None, operator_id: str | None
    ) -> RefundOut:
        """Refund a cast's charge or a card top-up, in full or in part, once per ``Idempotency-Key``."""
        key = check_key(idempotency_key, what="a refund")
        digest = request_digest(body.model_dump(mode="json"))
        existing = self._by_key(uow, key)
        if existing is not None:
            return self._replay(existing, key, digest)
        target = ("cast", body.cast_id) if body.cast_id else ("payment", str(body.payment_id))
        # The audit append comes first in every money transaction: one lock order, no deadlocks.
        self.audit.append(
            uow,
            "refund.created",
            actor_id=operator_id,
            subject=target[1],
            data={
                "target": target[0],
                "amount_micros": body.amount_micros,
                "reason": body.reason,
                "key": key,
            },
        )
        if self._by_key(uow, key) is not None:  # made by a concurrent request while this one waited
            raise conflict(key, target[1])
        if body.cast_id:
            row = self._refund_cast(uow, body.cast_id, body, key, digest)
        else:
            row = self._refund_payment(uow, str(body.payment_id), body, key, digest)
        row.created_by = operator_id
        table = Refund.__table__
        assert isinstance(table, Table)  # noqa: S101 - declarative tables are Table objects
        values = {column.name: getattr(row, column.key) for column in Refund.__mapper__.columns}
        if not insert_ignore(uow.session, table, values, ["idempotency_key"]):
            raise conflict(key, target[1])
        out = RefundOut.from_row(row)
        user = uow.session.get(User, row.user_id)
        event = "cast.refunded" if row.target_kind == "cast" else "payment.refunded"
        self.notify(uow, user.tenant_id if user else None, event, out.model_dump(mode="json"))
        return out

    def list(
        self, uow: UnitOfWork, *, cast_id: str | None = None, payment_id: str | None = None, limit: int = 50
    ) -> RefundPage:
        """Refunds, newest first, of one cast or payment when named."""
        query = select(Refund).order_by(Refund.created_at.desc(), Refund.id.desc()).limit(limit)
        if cast_id or payment_id:
            query = query.where(Refund.target_id == (cast_id or payment_id))
        return RefundPage(items=[RefundOut.from_row(row) for row in uow.session.scalars(query)])

    # -- a cast's charge ----------------------------------------------------------------------
    def _refund_cast(
        self, uow: UnitOfWork, cast_id: str, body: RefundCreate, key: str, digest: str
    ) -> Refund:
        hold = self.budgets.hold(uow, cast_id)
        if hold is None or hold.status not in ("captured", "refunded") or hold.captured_micros == 0:
            raise ChargeNotFound(f"cast {cast_id} was not charged", details={"cast_id": cast_id})
        self.budgets.lock_caster(uow, hold.caster_id, hold.currency)
        before = self._refunded(uow, cast_id)
        if hold.status == "refunded" and before == 0:
            before = hold.captured_micros  # flipped to refunded without a refund row: nothing is left
        amount = self._amount(body, hold.currency, refundable=hold.captured_micros - before, target=cast_id)
        settled = self.budgets.refund(
            uow, cast_id, reason=body.reason or "operator", amount=amount, refunded_before=before
        )
        if not settled.applied or settled.transaction_id is None:
            raise AlreadyRefunded(f"cast {cast_id} was refunded in full", details={"cast_id": cast_id})
        if settled.status == "refunded":
            self.entitlements.revoke(uow, cast_id, at=self.clock.now())
        return self._row(
            key,
            digest,
            "cast",
            cast_id,
            hold.caster_id,
            amount,
            settled.transaction_id,
            body,
            maker_micros=settled.maker_micros,
        )

    @staticmethod
    def _refunded(uow: UnitOfWork, target_id: str) -> int:
        total = uow.session.scalar(
            select(func.coalesce(func.sum(Refund.amount_micros), 0)).where(Refund.target_id == target_id)
        )
        return int(total or 0)

    # -- a card top-up ------------------------------------------------------------------------
    def _refund_payment(
        self, uow: UnitOfWork, payment_id: str, body: RefundCreate, key: str, digest: str
    ) -> Refund:
        record = uow.session.scalar(
            select(PaymentRecord)
            .where(PaymentRecord.id == payment_id)
            .execution_options(populate_existing=True)
        )
        if (
            record is None
            or record.kind != "topup"
            or record.provider_ref is None
            or record.status not in ("succeeded", "refunded", "disputed")
        ):
            raise ChargeNotFound(f"no settled card payment {payment_id}", details={"payment_id": payment_id})
        before = record.refunded_micros
        amount = self._amount(
            body, record.currency, refundable=record.amount_micros - before, target=payment_id
        )
        after = before + amount.micros
        moved = uow.session.execute(
            update(PaymentRecord)
            .where(PaymentRecord.id == payment_id, PaymentRecord.refunded_micros == before)
            .values(refunded_micros=after, status="refunded", updated_at=self.clock.now()),
            execution_options={"synchronize_session": False},
        )
        if getattr(moved, "rowcount", 0) != 1:
            raise conflict(key, payment_id)  # another refund of this payment committed meanwhile
        wallet = self.ledger.balance(uow, record.user_id, "wallet", record.currency).micros
        if wallet < amount.micros:
            raise RefundNotCovered(
                "the caster's wallet holds less than the refund: credit already spent is not refunded",
                details={"wallet_micros": wallet, "amount_micros": amount.micros},
                hint="refund at most the wallet's balance, or refund the casts it paid for",
            )
        txn = self.ledger.post(
            uow,
            f"stripe:refund:{record.provider_ref}:{after}",
            kind="refund",
            currency=record.currency,
            legs=[Leg(record.user_id, "wallet", -amount.micros), Leg(PLATFORM, "refunds", amount.micros)],
            memo={"payment_ref": record.provider_ref, "shortfall_micros": 0, "refund_key": key},
        )
        refund = self.payments.provider.refund(
            payment_ref=record.provider_ref, amount=amount, idempotency_key=f"refund:{record.id}:{after}"
        )
        row = self._row(key, digest, "payment", payment_id, record.user_id, amount, txn.id, body)
        row.provider_ref = refund.ref
        uow.after_commit(lambda: metrics.refunded("payment", amount.currency, amount.micros))
        return row

    # -- shared -------------------------------------------------------------------------------
    @staticmethod
    def _amount(body: RefundCreate, currency: str, *, refundable: int, target: str) -> Money:
        if refundable <= 0:
            raise AlreadyRefunded(f"{target} was refunded in full", details={"id": target})
        micros = refundable if body.amount_micros is None else body.amount_micros
        if micros > refundable:
            raise RefundExceedsCharge(
                f"the refund is larger than the {refundable} micro-{currency} left to refund",
                details={"amount_micros": micros, "refundable_micros": refundable},
            )
        amount = Money(micros, currency)
        if body.payment_id is not None:
            try:
                amount.to_minor()
            except ValueError:
                raise InvalidInput(
                    "a card refund must be a whole number of the currency's smallest unit",
                    details={"amount_micros": micros},
                ) from None
        return amount

    def _row(
        self,
        key: str,
        digest: str,
        kind: str,
        target_id: str,
        user_id: str,
        amount: Money,
        transaction_id: str,
        body: RefundCreate,
        *,
        maker_micros: int = 0,
    ) -> Refund:
        return Refund(
            id=new_id("rfd"),
            idempotency_key=key,
            request_digest=digest,
            target_kind=kind,
            target_id=target_id,
            user_id=user_id,
            currency=amount.currency,
            amount_micros=amount.micros,
            maker_micros=maker_micros,
            status="succeeded",
            provider_ref=None,
            transaction_id=transaction_id,
            reason=body.reason,
            created_by=None,
            created_at=self.clock.now(),
        )

    @staticmethod
    def _by_key(uow: UnitOfWork, key: str) -> Refund | None:
        return uow.session.scalar(
            select(Refund).where(Refund.idempotency_key == key).execution_options(populate_existing=True)
        )

    @staticmethod
    def _replay(existing: Refund, key: str, digest: str) -> RefundOut:
        if existing.request_digest != digest:
            raise conflict(key, existing.id)
        return RefundOut.from_row(existing, replay=True)
