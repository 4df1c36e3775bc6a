"""Stripe through its official SDK: customers, Checkout, billing portal, PaymentIntents, refunds, webhooks.

``api_base`` points the SDK elsewhere (a local test double); nothing here talks to a network on import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe

from spell.kit import json_input
from spell.kit.money import Money
from spell.platform.billing.errors import PaymentFailed, PayoutRefused, WebhookSignatureInvalid
from spell.platform.billing.provider import ProviderEvent, ProviderPayment, unreachable
from spell.platform.cast.errors import IdempotencyConflict

__all__ = ["StripeProvider"]

_STATUS = {"succeeded": "succeeded", "processing": "processing", "requires_action": "requires_action"}


class StripeProvider:
    """``PaymentProvider`` over the Stripe API."""

    name = "stripe"

    def __init__(
        self, api_key: str, webhook_secret: str, *, api_base: str | None = None, max_network_retries: int = 2
    ) -> None:
        addresses: Any = {"api": api_base} if api_base else None
        self.client = stripe.StripeClient(
            api_key, base_addresses=addresses, max_network_retries=max_network_retries
        )
        self.webhook_secret = webhook_secret

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """Stripe down, slow or refusing for load (after the SDK's retries): 503 ``PAYMENTS_UNAVAILABLE``."""
        try:
            yield
        except stripe.IdempotencyError:
            # The derived key was used before with other parameters: an earlier attempt of another request.
            raise IdempotencyConflict(
                "the payment provider saw this idempotency key with a different request",
                details={"provider": self.name},
            ) from None
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise unreachable(self.name, type(exc).__name__) from None
        except stripe.APIError as exc:  # Stripe's own 5xx
            raise unreachable(self.name, f"{type(exc).__name__} {exc.http_status}") from None

    def create_customer(self, *, user_id: str, email: str | None) -> str:
        """A Stripe customer carrying our user id in its metadata."""
        params: Any = {"metadata": {"user_id": user_id}}
        if email:
            params["email"] = email
        with self._reachable():
            customer = self.client.v1.customers.create(params, {"idempotency_key": f"customer:{user_id}"})
        return str(customer.id)

    def checkout_url(
        self, *, customer_ref: str, user_id: str, success_url: str, cancel_url: str, top_up: Money | None
    ) -> str:
        """Checkout in ``payment`` mode for a top-up, or ``setup`` mode to save a card (SetupIntent)."""
        params: Any = {
            "customer": customer_ref,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": user_id,
            "metadata": {"user_id": user_id},
        }
        if top_up is None:
            params.update(mode="setup", currency="usd")
        else:
            params.update(
                mode="payment",
                payment_intent_data={"setup_future_usage": "off_session", "metadata": {"user_id": user_id}},
                line_items=[
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": top_up.currency.lower(),
                            "unit_amount": top_up.to_minor(),
                            "product_data": {"name": "Spell credit"},
                        },
                    }
                ],
            )
        with self._reachable():
            session = self.client.v1.checkout.sessions.create(params)
        return str(session.url)

    def portal_url(self, *, customer_ref: str, return_url: str) -> str:
        """The Stripe billing portal for this customer."""
        with self._reachable():
            session = self.client.v1.billing_portal.sessions.create(
                {"customer": customer_ref, "return_url": return_url}
            )
        return str(session.url)

    def charge(
        self, *, customer_ref: str, user_id: str, amount: Money, idempotency_key: str
    ) -> ProviderPayment:
        """An off-session, confirmed PaymentIntent under the caller's idempotency key.

        The parameters depend on the request only, so a retry after a lost answer is the same request
        to Stripe, which answers the first PaymentIntent again.
        """
        params: Any = {
            "amount": amount.to_minor(),
            "currency": amount.currency.lower(),
            "customer": customer_ref,
            "off_session": True,
            "confirm": True,
            "metadata": {"user_id": user_id, "idempotency_key": idempotency_key},
        }
        try:
            with self._reachable():
                intent = self.client.v1.payment_intents.create(params, {"idempotency_key": idempotency_key})
        except stripe.CardError as exc:
            raise PaymentFailed(
                f"the card was declined: {exc.user_message or exc.code}",
                details={"decline_code": getattr(exc, "code", None), "transaction_id": idempotency_key},
            ) from None
        status = _STATUS.get(str(intent.status), "failed")
        return ProviderPayment(str(intent.id), status, amount, raw=intent.to_dict())

    def refund(self, *, payment_ref: str, amount: Money, idempotency_key: str) -> ProviderPayment:
        """Refund part or all of a PaymentIntent; Stripe's refusal is 402 ``PAYMENT_FAILED``."""
        try:
            with self._reachable():
                refund = self.client.v1.refunds.create(
                    {"payment_intent": payment_ref, "amount": amount.to_minor(round_up=False)},
                    {"idempotency_key": idempotency_key},
                )
        except stripe.InvalidRequestError as exc:
            raise PaymentFailed(
                f"the payment provider refused the refund: {exc.user_message or exc.code}",
                details={"code": exc.code, "payment_ref": payment_ref},
            ) from None
        status = "succeeded" if refund.status in ("succeeded", "pending") else "failed"
        return ProviderPayment(str(refund.id), status, amount, raw=refund.to_dict())

    def transfer(
        self, *, destination: str, amount: Money, idempotency_key: str, metadata: dict[str, str]
    ) -> ProviderPayment:
        """A Stripe Connect transfer to ``destination``; Stripe's refusal is 409 ``PAYOUT_REFUSED``."""
        params: Any = {
            "amount": amount.to_minor(round_up=False),
            "currency": amount.currency.lower(),
            "destination": destination,
            "metadata": metadata,
        }
        try:
            with self._reachable():
                transfer = self.client.v1.transfers.create(params, {"idempotency_key": idempotency_key})
        except stripe.InvalidRequestError as exc:
            raise PayoutRefused(
                f"the payment provider refused the transfer: {exc.user_message or exc.code}",
                details={"code": exc.code, "destination": destination},
            ) from None
        return ProviderPayment(str(transfer.id), "succeeded", amount, raw=transfer.to_dict())

    def parse_webhook(self, payload: bytes, signature: str | None) -> ProviderEvent:
        """Signature and timestamp (5 minutes' tolerance) checked by the SDK, then the event read strictly.

        A delivery that verifies but does not read as an event is returned with its ``problem`` set.
        """
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self.webhook_secret, stripe.Webhook.DEFAULT_TOLERANCE
            )
        except (stripe.SignatureVerificationError, ValueError) as exc:  # ValueError: not UTF-8
            raise WebhookSignatureInvalid(
                "the Stripe-Signature header does not verify", details={"reason": str(exc)[:200]}
            ) from None
        return read_event(payload)


def read_event(payload: bytes) -> ProviderEvent:
    """A verified delivery as an event: ``id``, ``type`` and ``data.object``, or with ``problem`` set."""
    # Redeliveries of the same bytes share this id, so a malformed event is recorded once.
    fallback = "malformed_" + hashlib.sha256(payload).hexdigest()[:40]
    try:
        data = json_input.loads(payload)
    except json_input.JsonInputError as exc:
        return ProviderEvent(id=fallback, type="malformed", data={}, problem=f"not JSON: {exc.message}")
    if not isinstance(data, dict):
        return ProviderEvent(id=fallback, type="malformed", data={}, problem="the event is not an object")
    event_id, event_type = data.get("id"), data.get("type")
    body = data.get("data")
    obj = body.get("object") if isinstance(body, dict) else None
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 100 and event_id.isprintable()):
        return ProviderEvent(id=fallback, type="malformed", data={}, problem="the event has no usable id")
    if not (isinstance(event_type, str) and 0 < len(event_type) <= 60):
        return ProviderEvent(id=event_id, type="malformed", data={}, problem="the event has no usable type")
    if not isinstance(obj, dict):
        return ProviderEvent(id=event_id, type=event_type, data={}, problem="the event has no data.object")
    return ProviderEvent(id=event_id, type=event_type, data=obj)
