"""Card money in and out of prepaid wallets: customers, checkout, off-session top-ups, webhooks.

Operator refunds of card top-ups go through ``refunds.RefundService``, which moves the wallet and
calls the provider under the same ledger key the ``charge.refunded`` webhook would use.

Webhook deliveries are de-duplicated by event id (first insert wins, inside the same transaction as
the effect), and every ledger write is keyed by the provider's object id, so a payment reported by
both ``checkout.session.completed`` and ``payment_intent.succeeded`` credits the wallet once.
Refunds and disputes take money back out of the wallet, never below zero: what the caster already
spent stays spent and the shortfall is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, select

from spell.errors import InvalidInput
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.kit.money import MAX_MICROS, Money
from spell.models import User
from spell.models.payment import PaymentCustomer, PaymentRecord, WebhookEvent
from spell.platform import metrics
from spell.platform.audit.service import AuditService
from spell.platform.billing.idempotency import check_key, conflict, request_digest
from spell.platform.billing.provider import PaymentProvider, ProviderEvent, WalletOnly
from spell.platform.billing.schemas import HostedPage, TopUp, WebhookReceipt
from spell.platform.ledger.repository import insert_ignore
from spell.platform.ledger.service import PLATFORM, LedgerService, Leg
from spell.storage.session import UnitOfWork

__all__ = ["PaymentService"]


class MalformedEvent(ValueError):
    """A verified event whose object lacks a field this platform reads, or holds the wrong kind of value."""


def _money(obj: dict[str, Any], field: str) -> Money:
    """``obj[field]`` minor units of ``obj["currency"]`` as Money, or ``MalformedEvent``."""
    minor, currency = obj.get(field), obj.get("currency")
    if type(minor) is not int or minor < 0 or not isinstance(currency, str):
        raise MalformedEvent(f"{field} and currency must be a non-negative integer and a currency code")
    try:
        money = Money.from_minor(minor, currency.upper())
    except ValueError as exc:
        raise MalformedEvent(f"{field}: {exc}") from None
    if money.micros > MAX_MICROS:
        raise MalformedEvent(f"{field} is beyond the largest amount")
    return money


def _ref(obj: dict[str, Any], field: str) -> str:
    """``obj[field]`` as a provider object id, or ``MalformedEvent``."""
    value = obj.get(field)
    if not (isinstance(value, str) and 0 < len(value) <= 100 and value.isprintable()):
        raise MalformedEvent(f"{field} must be an object id")
    return value


def _user_id(obj: dict[str, Any]) -> str | None:
    """The user id this platform put in ``metadata`` (None when absent), or ``MalformedEvent``."""
    metadata = obj.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise MalformedEvent("metadata must be an object")
    user_id = metadata.get("user_id")
    if user_id is None or (isinstance(user_id, str) and 0 < len(user_id) <= 40):
        return user_id
    raise MalformedEvent("metadata.user_id must be a user id")


class PaymentService:
    """Payments through one provider; stateless, every method works in the unit of work it is given."""

    def __init__(
        self,
        ledger: LedgerService,
        audit: AuditService,
        provider: PaymentProvider | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.ledger = ledger
        self.audit = audit
        self.provider: PaymentProvider = provider or WalletOnly()
        self.clock = clock or SystemClock()

    # -- customers and hosted pages -----------------------------------------------------------
    def customer_ref(self, uow: UnitOfWork, user_id: str) -> str:
        """The provider's customer of this user, created on first use."""
        session = uow.session
        row = session.get(PaymentCustomer, user_id)
        if row is not None:
            return row.customer_ref
        user = session.get(User, user_id)
        ref = self.provider.create_customer(user_id=user_id, email=user.email if user else None)
        session.add(
            PaymentCustomer(
                user_id=user_id, provider=self.provider.name, customer_ref=ref, created_at=self.clock.now()
            )
        )
        session.flush()
        return ref

    def checkout_url(
        self, uow: UnitOfWork, user_id: str, *, success_url: str, cancel_url: str, top_up: Money | None
    ) -> HostedPage:
        """A hosted checkout page: a top-up of ``top_up``, or saving a card when it is None."""
        if top_up is not None:
            self._whole_minor(top_up)
        url = self.provider.checkout_url(
            customer_ref=self.customer_ref(uow, user_id),
            user_id=user_id,
            success_url=success_url,
            cancel_url=cancel_url,
            top_up=top_up,
        )
        return HostedPage(url=url)

    def portal_url(self, uow: UnitOfWork, user_id: str, *, return_url: str) -> HostedPage:
        """The provider's page for managing saved cards."""
        url = self.provider.portal_url(customer_ref=self.customer_ref(uow, user_id), return_url=return_url)
        return HostedPage(url=url)

    # -- money in -----------------------------------------------------------------------------
    def top_up(self, uow: UnitOfWork, user_id: str, amount: Money, *, idempotency_key: str | None) -> TopUp:
        """Charge the saved card off-session and credit the wallet when it succeeds, once per key.

        The record is inserted first under ``(user, key)``: a concurrent request with the same key waits
        for this one and then replays it. The provider's key is derived from ``(user, key)`` and the
        provider's parameters from the request alone, so a retry after a crash between the provider's
        answer and our commit is answered with the first payment, never a second charge.
        """
        key = check_key(idempotency_key, what="a top-up")
        self._whole_minor(amount)
        if amount.micros <= 0:
            raise InvalidInput("a top-up must be positive", details={"amount_micros": amount.micros})
        digest = request_digest(amount.to_dict())
        now = self.clock.now()
        table = PaymentRecord.__table__
        assert isinstance(table, Table)  # noqa: S101 - declarative tables are Table objects
        record_id = new_id("txn")
        values = {
            "id": record_id,
            "user_id": user_id,
            "provider": self.provider.name,
            "provider_ref": None,
            "kind": "topup",
            "currency": amount.currency,
            "amount_micros": amount.micros,
            "refunded_micros": 0,
            "status": "pending",
            "idempotency_key": key,
            "request_digest": digest,
            "created_at": now,
            "updated_at": now,
        }
        if not insert_ignore(uow.session, table, values, ["user_id", "idempotency_key"]):
            existing = uow.session.scalar(
                select(PaymentRecord).where(
                    PaymentRecord.user_id == user_id, PaymentRecord.idempotency_key == key
                )
            )
            assert existing is not None  # noqa: S101 - the insert conflicted with it
            if existing.request_digest != digest:
                raise conflict(key, existing.id)
            return TopUp.from_row(existing, replay=True)
        record = uow.session.get(PaymentRecord, record_id)
        assert record is not None  # noqa: S101 - inserted just above
        payment = self.provider.charge(
            customer_ref=self.customer_ref(uow, user_id),
            user_id=user_id,
            amount=amount,
            idempotency_key=f"topup:{user_id}:{key}",
        )
        record.provider_ref = payment.ref
        record.status = "succeeded" if payment.status == "succeeded" else "pending"
        record.updated_at = self.clock.now()
        uow.session.flush()
        if payment.status == "succeeded":
            self._credit_payment(uow, user_id, payment.ref, amount)
        return TopUp.from_row(record)

    def _credit_payment(self, uow: UnitOfWork, user_id: str, payment_ref: str, amount: Money) -> None:
        key = f"stripe:payment:{payment_ref}"
        if self.ledger.find(uow, key) is not None:
            return
        # The audit append comes first in every money transaction: one lock order, no deadlocks.
        self.audit.append(
            uow, "payment.succeeded", actor_id=user_id, subject=payment_ref, data=amount.to_dict()
        )
        self.ledger.credit(uow, user_id, amount, idempotency_key=key, memo={"payment_ref": payment_ref})

    # -- money out ----------------------------------------------------------------------------
    def _take_back(
        self, uow: UnitOfWork, record: PaymentRecord, cumulative: Money, *, kind: str, ref: str | None = None
    ) -> None:
        """Debit the wallet up to ``cumulative`` refunded in all for this payment (never below zero)."""
        delta = cumulative.micros - record.refunded_micros
        if delta <= 0:
            return
        balance = self.ledger.balance(uow, record.user_id, "wallet", record.currency).micros
        taken = min(delta, balance)
        key = f"stripe:{kind}:{ref or record.provider_ref}:{cumulative.micros}"
        self.audit.append(
            uow,
            "payment.disputed" if kind == "dispute" else "payment.refunded",
            actor_id=record.user_id,
            subject=record.provider_ref,
            data={"amount_micros": delta, "taken_micros": taken, "currency": record.currency},
        )
        if taken > 0:
            self.ledger.post(
                uow,
                key,
                kind=kind,
                currency=record.currency,
                legs=[Leg(record.user_id, "wallet", -taken), Leg(PLATFORM, "refunds", taken)],
                memo={"payment_ref": record.provider_ref, "shortfall_micros": delta - taken},
            )
        label, currency = "dispute" if kind == "dispute" else "payment", record.currency
        uow.after_commit(lambda: metrics.refunded(label, currency, delta))
        record.refunded_micros = cumulative.micros
        record.status = "disputed" if kind == "dispute" else "refunded"
        record.updated_at = self.clock.now()
        uow.session.flush()

    # -- webhooks -----------------------------------------------------------------------------
    def handle_webhook(self, uow: UnitOfWork, payload: bytes, signature: str | None) -> WebhookReceipt:
        """Verify, de-duplicate and apply one delivery; a repeated event id changes nothing.

        A verified event that cannot be read is recorded (event row and ``payment.webhook_malformed``
        audit record), moves no money, and is acknowledged: the provider would otherwise resend it
        for days.
        """
        event = self.provider.parse_webhook(payload, signature)
        table = WebhookEvent.__table__
        assert isinstance(table, Table)  # noqa: S101 - declarative tables are Table objects
        first = insert_ignore(
            uow.session,
            table,
            {
                "id": event.id,
                "provider": self.provider.name,
                "type": event.type,
                "received_at": self.clock.now(),
            },
            ["id"],
        )
        if not first:
            return WebhookReceipt(event_id=event.id, type=event.type, duplicate=True, handled=False)
        handler = None if event.problem else self._handlers().get(event.type)
        problem = event.problem
        if handler is not None:
            try:
                handler(uow, event)
            except MalformedEvent as exc:  # raised while reading fields, before any write
                problem = str(exc)
        if problem is not None:
            self.audit.append(
                uow,
                "payment.webhook_malformed",
                actor_id=None,
                subject=event.id,
                data={"provider": self.provider.name, "type": event.type, "problem": problem[:200]},
            )
            return WebhookReceipt(
                event_id=event.id, type=event.type, duplicate=False, handled=False, problem=problem[:200]
            )
        return WebhookReceipt(
            event_id=event.id, type=event.type, duplicate=False, handled=handler is not None
        )

    def _handlers(self) -> dict[str, Callable[[UnitOfWork, ProviderEvent], None]]:
        return {
            "checkout.session.completed": self._on_checkout,
            "payment_intent.succeeded": self._on_intent_succeeded,
            "payment_intent.payment_failed": self._on_intent_failed,
            "charge.refunded": self._on_refunded,
            "charge.dispute.created": self._on_dispute,
        }

    def _on_checkout(self, uow: UnitOfWork, event: ProviderEvent) -> None:
        obj = event.data
        if (
            obj.get("mode") != "payment"
            or obj.get("payment_status") != "paid"
            or not obj.get("payment_intent")
        ):
            return  # a saved card (setup mode) moves no money
        user_id = _user_id(obj) or _ref(obj, "client_reference_id")
        amount = _money(obj, "amount_total")
        self._settled(uow, user_id, _ref(obj, "payment_intent"), amount)

    def _on_intent_succeeded(self, uow: UnitOfWork, event: ProviderEvent) -> None:
        obj = event.data
        user_id = _user_id(obj)
        if not user_id:
            return  # not a payment this platform started
        self._settled(uow, user_id, _ref(obj, "id"), _money(obj, "amount_received"))

    def _settled(self, uow: UnitOfWork, user_id: str, payment_ref: str, amount: Money) -> None:
        record = self._by_ref(uow, payment_ref)
        if record is None:
            record = self._record(uow, new_id("txn"), user_id, kind="topup", amount=amount)
            record.provider_ref = payment_ref
        if record.status == "pending":
            record.status = "succeeded"
        record.updated_at = self.clock.now()
        uow.session.flush()
        self._credit_payment(uow, user_id, payment_ref, amount)

    def _on_intent_failed(self, uow: UnitOfWork, event: ProviderEvent) -> None:
        obj = event.data
        ref, user_id = _ref(obj, "id"), _user_id(obj)
        error = obj.get("last_payment_error") or {}
        if not isinstance(error, dict):
            raise MalformedEvent("last_payment_error must be an object")
        code, decline = error.get("code"), error.get("decline_code")
        record = self._by_ref(uow, ref)
        if record is not None:
            record.status = "failed"
            record.updated_at = self.clock.now()
        self.audit.append(
            uow,
            "payment.failed",
            actor_id=user_id,
            subject=ref,
            data={"code": _short(code), "decline_code": _short(decline)},
        )

    def _on_refunded(self, uow: UnitOfWork, event: ProviderEvent) -> None:
        obj = event.data
        if obj.get("payment_intent") is None:
            return  # a charge without a PaymentIntent was not made by this platform
        ref, refunded = _ref(obj, "payment_intent"), _money(obj, "amount_refunded")
        record = self._by_ref(uow, ref)
        if record is not None:
            self._take_back(uow, record, refunded, kind="refund")

    def _on_dispute(self, uow: UnitOfWork, event: ProviderEvent) -> None:
        obj = event.data
        if obj.get("payment_intent") is None:
            return  # a charge without a PaymentIntent was not made by this platform
        ref, dispute_id, disputed = _ref(obj, "payment_intent"), _ref(obj, "id"), _money(obj, "amount")
        record = self._by_ref(uow, ref)
        if record is not None:
            cumulative = Money(
                min(record.amount_micros, record.refunded_micros + disputed.micros), record.currency
            )
            self._take_back(uow, record, cumulative, kind="dispute", ref=dispute_id)

    # -- rows ---------------------------------------------------------------------------------
    @staticmethod
    def _by_ref(uow: UnitOfWork, payment_ref: str) -> PaymentRecord | None:
        return uow.session.scalar(select(PaymentRecord).where(PaymentRecord.provider_ref == payment_ref))

    def _record(
        self, uow: UnitOfWork, record_id: str, user_id: str, *, kind: str, amount: Money
    ) -> PaymentRecord:
        now = self.clock.now()
        record = PaymentRecord(
            id=record_id,
            user_id=user_id,
            provider=self.provider.name,
            provider_ref=None,
            kind=kind,
            currency=amount.currency,
            amount_micros=amount.micros,
            refunded_micros=0,
            status="pending",
            created_at=now,
            updated_at=now,
        )
        uow.session.add(record)
        uow.session.flush()
        return record

    @staticmethod
    def _whole_minor(amount: Money) -> None:
        try:
            amount.to_minor()
        except ValueError:
            raise InvalidInput(
                f"{amount} is not a whole number of the currency's smallest unit",
                details={"amount_micros": amount.micros, "currency": amount.currency},
            ) from None


def _short(value: Any) -> str | None:
    """A provider's code as short text for the audit log (None when absent or not text)."""
    return value[:100] if isinstance(value, str) else None
