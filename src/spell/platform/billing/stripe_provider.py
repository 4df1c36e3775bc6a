"""Stripe through its official SDK: customers, Checkout, billing portal, PaymentIntents, refunds, webhooks.

``api_base`` points the SDK elsewhere (a local test double); nothing here talks to a network on import.
"""

from __future__ import annotations

from typing import Any

import stripe

from spell.errors import PaymentFailed, WebhookSignatureInvalid
from spell.kit.money import Money
from spell.platform.billing.provider import ProviderEvent, ProviderPayment

__all__ = ["StripeProvider"]

_STATUS = {"succeeded": "succeeded", "processing": "processing", "requires_action": "requires_action"}


class StripeProvider:
    """``PaymentProvider`` over the Stripe API."""

    name = "stripe"

    def __init__(self, api_key: str, webhook_secret: str, *, api_base: str | None = None) -> None:
        addresses: Any = {"api": api_base} if api_base else None
        self.client = stripe.StripeClient(api_key, base_addresses=addresses, max_network_retries=2)
        self.webhook_secret = webhook_secret

    def create_customer(self, *, user_id: str, email: str | None) -> str:
        """A Stripe customer carrying our user id in its metadata."""
        params: Any = {"metadata": {"user_id": user_id}}
        if email:
            params["email"] = email
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
        session = self.client.v1.checkout.sessions.create(params)
        return str(session.url)

    def portal_url(self, *, customer_ref: str, return_url: str) -> str:
        """The Stripe billing portal for this customer."""
        session = self.client.v1.billing_portal.sessions.create(
            {"customer": customer_ref, "return_url": return_url}
        )
        return str(session.url)

    def charge(
        self, *, customer_ref: str, user_id: str, amount: Money, idempotency_key: str
    ) -> ProviderPayment:
        """An off-session, confirmed PaymentIntent; Stripe's Idempotency-Key is our transaction id."""
        params: Any = {
            "amount": amount.to_minor(),
            "currency": amount.currency.lower(),
            "customer": customer_ref,
            "off_session": True,
            "confirm": True,
            "metadata": {"user_id": user_id, "ledger_transaction": idempotency_key},
        }
        try:
            intent = self.client.v1.payment_intents.create(params, {"idempotency_key": idempotency_key})
        except stripe.CardError as exc:
            raise PaymentFailed(
                f"the card was declined: {exc.user_message or exc.code}",
                details={"decline_code": getattr(exc, "code", None), "transaction_id": idempotency_key},
            ) from None
        status = _STATUS.get(str(intent.status), "failed")
        return ProviderPayment(str(intent.id), status, amount, raw=intent.to_dict())

    def refund(self, *, payment_ref: str, amount: Money, idempotency_key: str) -> ProviderPayment:
        """Refund part or all of a PaymentIntent."""
        refund = self.client.v1.refunds.create(
            {"payment_intent": payment_ref, "amount": amount.to_minor(round_up=False)},
            {"idempotency_key": idempotency_key},
        )
        status = "succeeded" if refund.status in ("succeeded", "pending") else "failed"
        return ProviderPayment(str(refund.id), status, amount, raw=refund.to_dict())

    def parse_webhook(self, payload: bytes, signature: str | None) -> ProviderEvent:
        """``stripe.Webhook.construct_event``: signature and timestamp (5 minutes' tolerance) checked."""
        try:
            event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise WebhookSignatureInvalid(
                "the Stripe-Signature header does not verify", details={"reason": str(exc)[:200]}
            ) from None
        data = event.to_dict()
        return ProviderEvent(id=str(data["id"]), type=str(data["type"]), data=dict(data["data"]["object"]))
