"""Payment providers behind one interface: the prepaid wallet (default) and card processors.

A provider moves real money; the ledger records it. Every call that can move money takes an
idempotency key derived from what the caller asked for (a top-up's user and key, a refund's payment
and cumulative amount, a payout's place in the maker's sequence), so a retried request, even after a
crash between the provider's answer and our commit, never moves money twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from spell.config.billing import BillingSettings
from spell.kit.money import Money
from spell.platform.billing.errors import PaymentsUnavailable

__all__ = [
    "PaymentProvider",
    "ProviderEvent",
    "ProviderPayment",
    "WalletOnly",
    "provider_from_settings",
    "unreachable",
]


@dataclass(frozen=True)
class ProviderPayment:
    """The provider's view of one payment or refund."""

    ref: str
    status: str  # succeeded | processing | requires_action | failed
    amount: Money
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderEvent:
    """A verified webhook event; ``problem`` says why it cannot be applied (None: well formed).

    A delivery that verifies but is not an event this platform can read still gets an id (derived
    from its bytes when it has none), so it is recorded once and acknowledged, never retried forever.
    """

    id: str
    type: str
    data: dict[str, Any]
    problem: str | None = None


class PaymentProvider(Protocol):
    """What the platform asks of a payment provider."""

    name: str

    def create_customer(self, *, user_id: str, email: str | None) -> str:
        """Create the provider's customer for a user; return its reference."""
        ...

    def checkout_url(
        self, *, customer_ref: str, user_id: str, success_url: str, cancel_url: str, top_up: Money | None
    ) -> str:
        """A hosted page: pay ``top_up`` into the wallet, or (None) save a card for later."""
        ...

    def portal_url(self, *, customer_ref: str, return_url: str) -> str:
        """A hosted page where the user manages cards and receipts."""
        ...

    def charge(
        self, *, customer_ref: str, user_id: str, amount: Money, idempotency_key: str
    ) -> ProviderPayment:
        """Charge the saved card off-session."""
        ...

    def refund(self, *, payment_ref: str, amount: Money, idempotency_key: str) -> ProviderPayment:
        """Refund (part of) a payment."""
        ...

    def transfer(
        self, *, destination: str, amount: Money, idempotency_key: str, metadata: dict[str, str]
    ) -> ProviderPayment:
        """Send ``amount`` to a maker's connected account (a payout)."""
        ...

    def parse_webhook(self, payload: bytes, signature: str | None) -> ProviderEvent:
        """Verify and decode a webhook delivery; raise ``WEBHOOK_SIGNATURE_INVALID`` if it does not verify."""
        ...


def unreachable(provider: str, reason: str) -> PaymentsUnavailable:
    """The card processor did not answer (network, its outage, its rate limit); nothing was charged."""
    return PaymentsUnavailable(
        f"the payment provider cannot be reached; try again shortly ({reason})",
        details={"provider": provider},
        retry_after=30,
    )


def _unavailable() -> PaymentsUnavailable:
    return PaymentsUnavailable(
        "card payments are not configured on this platform",
        hint="operators credit wallets with `spell admin credit`; set SPELL_BILLING_STRIPE_API_KEY for cards",
    )


class WalletOnly:
    """The embedded default: prepaid credit granted by operators, no card processor."""

    name = "wallet"

    def create_customer(self, *, user_id: str, email: str | None) -> str:
        """Not available without a card processor."""
        raise _unavailable()

    def checkout_url(
        self, *, customer_ref: str, user_id: str, success_url: str, cancel_url: str, top_up: Money | None
    ) -> str:
        """Not available without a card processor."""
        raise _unavailable()

    def portal_url(self, *, customer_ref: str, return_url: str) -> str:
        """Not available without a card processor."""
        raise _unavailable()

    def charge(
        self, *, customer_ref: str, user_id: str, amount: Money, idempotency_key: str
    ) -> ProviderPayment:
        """Not available without a card processor."""
        raise _unavailable()

    def refund(self, *, payment_ref: str, amount: Money, idempotency_key: str) -> ProviderPayment:
        """Not available without a card processor."""
        raise _unavailable()

    def transfer(
        self, *, destination: str, amount: Money, idempotency_key: str, metadata: dict[str, str]
    ) -> ProviderPayment:
        """Not available without a card processor."""
        raise _unavailable()

    def parse_webhook(self, payload: bytes, signature: str | None) -> ProviderEvent:
        """Not available without a card processor."""
        raise _unavailable()


def provider_from_settings(settings: BillingSettings) -> PaymentProvider:
    """Stripe when it is configured, else the wallet-only default."""
    if settings.stripe_api_key and settings.stripe_webhook_secret:
        from spell.platform.billing.stripe_provider import StripeProvider

        return StripeProvider(
            settings.stripe_api_key, settings.stripe_webhook_secret, api_base=settings.stripe_api_base
        )
    return WalletOnly()
