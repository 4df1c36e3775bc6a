"""Billing errors: the billing domain's leaves of the one catalog (tree in ``spell.errors``)."""

from __future__ import annotations

from spell.errors import QuotaError, SpellError

__all__ = ["PaymentFailed", "PaymentsUnavailable", "WebhookSignatureInvalid"]


class PaymentFailed(QuotaError):
    """The payment provider declined or failed a charge."""

    code = "PAYMENT_FAILED"


class PaymentsUnavailable(SpellError):
    """Card payments are not configured here, or the card processor cannot be reached (the prepaid
    wallet still works)."""

    code = "PAYMENTS_UNAVAILABLE"
    status_code = 503


class WebhookSignatureInvalid(SpellError):
    """A provider webhook's signature or timestamp does not verify."""

    code = "WEBHOOK_SIGNATURE_INVALID"
    status_code = 400
