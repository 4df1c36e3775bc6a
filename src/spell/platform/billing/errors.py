"""Billing errors: the billing domain's leaves of the one catalog (tree in ``spell.errors``)."""

from __future__ import annotations

from spell.errors import Conflict, InvalidInput, NotFound, QuotaError, SpellError

__all__ = [
    "AlreadyRefunded",
    "ChargeNotFound",
    "IdempotencyKeyRequired",
    "NotPurchasable",
    "NothingOwed",
    "PaymentFailed",
    "PaymentsUnavailable",
    "PayoutRefused",
    "PurchaseRequired",
    "RefundExceedsCharge",
    "RefundNotCovered",
    "WebhookSignatureInvalid",
]


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


class IdempotencyKeyRequired(InvalidInput):
    """A request that moves money came without its ``Idempotency-Key``."""

    code = "IDEMPOTENCY_KEY_REQUIRED"


class ChargeNotFound(NotFound):
    """No charge to refund: the cast charged nothing, or the payment is unknown or never settled."""

    code = "CHARGE_NOT_FOUND"


class RefundExceedsCharge(InvalidInput):
    """The refund is larger than what is left to refund of the charge."""

    code = "REFUND_EXCEEDS_CHARGE"


class AlreadyRefunded(Conflict):
    """The charge has been refunded in full already."""

    code = "ALREADY_REFUNDED"


class RefundNotCovered(Conflict):
    """The maker was paid out and the platform's revenue cannot cover the refund's share."""

    code = "REFUND_NOT_COVERED"


class NothingOwed(Conflict):
    """The maker's earnings balance is zero: there is nothing to pay out."""

    code = "NOTHING_OWED"


class PayoutRefused(Conflict):
    """The payment provider refused the transfer to the maker's connected account."""

    code = "PAYOUT_REFUSED"


class PurchaseRequired(QuotaError):
    """A clone-mode spell's archive is handed out only to callers who bought the spell."""

    code = "PURCHASE_REQUIRED"


class NotPurchasable(Conflict):
    """Only ``one_time`` spells are bought; the others are paid per cast."""

    code = "NOT_PURCHASABLE"
