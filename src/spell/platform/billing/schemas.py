"""Wire shapes of billing: estimates, hosted payment pages, top-ups, webhook receipts, maker shares,
refunds, payouts and one-time purchases (entitlements)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, model_validator

from spell.kit.money import MAX_MICROS
from spell.kit.time import to_rfc3339
from spell.platform.ledger.schemas import MoneyAmount

if TYPE_CHECKING:  # rows are only read here: the SDK imports these shapes without the database models
    from spell.models.entitlement import Entitlement
    from spell.models.payment import PaymentRecord
    from spell.models.payout import Payout
    from spell.models.refund import Refund

__all__ = [
    "CheckoutRequest",
    "EntitlementOut",
    "EntitlementPage",
    "Estimate",
    "EstimateRequest",
    "HostedPage",
    "MakerShare",
    "Owed",
    "PayoutAccount",
    "PayoutAccountSet",
    "PayoutOut",
    "PayoutPage",
    "PayoutRun",
    "PayoutRunRequest",
    "PortalRequest",
    "Purchase",
    "RefundCreate",
    "RefundOut",
    "RefundPage",
    "TopUp",
    "TopUpRequest",
    "WebhookReceipt",
]


class EstimateRequest(BaseModel):
    """Which version to price (default: the latest); the input does not change a maximum."""

    version: str | None = None
    input: Any = None


class Estimate(BaseModel):
    """The most one cast can cost (what it would hold), and the caller's balance in that currency."""

    spell_id: str
    version: str
    pricing_model: str
    charge_on_failure: bool
    estimate: MoneyAmount
    balance_micros: int | None = Field(description="null when the budget is in another currency")


class CheckoutRequest(BaseModel):
    """A top-up of ``top_up_micros`` (whole cents), or saving a card when it is omitted."""

    success_url: str = Field(min_length=1, max_length=2000)
    cancel_url: str = Field(min_length=1, max_length=2000)
    top_up_micros: int | None = Field(default=None, gt=0, le=MAX_MICROS)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class PortalRequest(BaseModel):
    """Where the portal sends the user back to."""

    return_url: str = Field(min_length=1, max_length=2000)


class TopUpRequest(BaseModel):
    """Charge the saved card now and credit the wallet."""

    amount_micros: int = Field(gt=0, le=MAX_MICROS)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class HostedPage(BaseModel):
    """A page of the payment provider to send the user to."""

    url: str


class TopUp(BaseModel):
    """A card payment into the wallet; ``replay`` when the Idempotency-Key had made it before."""

    id: str
    status: str
    payment_ref: str | None
    amount_micros: int
    currency: str
    replay: bool = False

    @classmethod
    def from_row(cls, record: PaymentRecord, *, replay: bool = False) -> TopUp:
        """The payment as recorded."""
        return cls(
            id=record.id,
            status=record.status,
            payment_ref=record.provider_ref,
            amount_micros=record.amount_micros,
            currency=record.currency,
            replay=replay,
        )


class WebhookReceipt(BaseModel):
    """What one webhook delivery did; ``problem`` is present only for a verified event that cannot be read."""

    received: bool = True
    event_id: str
    type: str
    duplicate: bool
    handled: bool
    problem: str | None = None


class MakerShare(BaseModel):
    """The maker's share of a spell's revenue, in basis points."""

    spell_id: str
    maker_share_bps: int


class RefundCreate(BaseModel):
    """Refund a cast's charge (to the caster's wallet) or a card top-up (to the card): exactly one of
    ``cast_id`` and ``payment_id``; ``amount_micros`` omitted refunds all that is left."""

    cast_id: str | None = Field(default=None, min_length=1, max_length=40)
    payment_id: str | None = Field(default=None, min_length=1, max_length=40)
    amount_micros: int | None = Field(default=None, gt=0, le=MAX_MICROS)
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one_target(self) -> RefundCreate:
        if (self.cast_id is None) == (self.payment_id is None):
            raise ValueError("name exactly one of cast_id and payment_id")
        return self


class RefundOut(BaseModel):
    """One refund: what went back to whom, what the maker gave back, and its ledger transaction."""

    id: str
    target_kind: str
    target_id: str
    user_id: str
    amount_micros: int
    maker_micros: int
    currency: str
    status: str
    provider_ref: str | None
    transaction_id: str
    reason: str | None
    created_by: str | None
    created_at: str
    replay: bool = False

    @classmethod
    def from_row(cls, row: Refund, *, replay: bool = False) -> RefundOut:
        """The refund as recorded."""
        return cls(
            id=row.id,
            target_kind=row.target_kind,
            target_id=row.target_id,
            user_id=row.user_id,
            amount_micros=row.amount_micros,
            maker_micros=row.maker_micros,
            currency=row.currency,
            status=row.status,
            provider_ref=row.provider_ref,
            transaction_id=row.transaction_id,
            reason=row.reason,
            created_by=row.created_by,
            created_at=to_rfc3339(row.created_at),
            replay=replay,
        )


class RefundPage(BaseModel):
    """Refunds, newest first."""

    items: list[RefundOut]


class Owed(BaseModel):
    """What one maker is owed in one currency (their earnings balance), and where it would go."""

    maker_id: str
    publisher: str | None
    currency: str
    amount_micros: int
    destination: str | None = Field(description="the Stripe Connect account; null: paid by hand")


class PayoutRunRequest(BaseModel):
    """Pay one publisher's maker, or (omitted) every maker owed anything; ``dry_run`` only lists."""

    publisher: str | None = Field(default=None, min_length=1, max_length=100)
    dry_run: bool = False


class PayoutOut(BaseModel):
    """One payout: the amount moved from earnings to paid-out, and how it was paid."""

    id: str
    maker_id: str
    publisher: str | None
    amount_micros: int
    currency: str
    method: str
    destination: str | None
    provider_ref: str | None
    status: str
    transaction_id: str
    created_at: str

    @classmethod
    def from_row(cls, row: Payout) -> PayoutOut:
        """The payout as recorded."""
        return cls(
            id=row.id,
            maker_id=row.maker_id,
            publisher=row.publisher,
            amount_micros=row.amount_micros,
            currency=row.currency,
            method=row.method,
            destination=row.destination,
            provider_ref=row.provider_ref,
            status=row.status,
            transaction_id=row.transaction_id,
            created_at=to_rfc3339(row.created_at),
        )


class PayoutRun(BaseModel):
    """What a run did: the payouts made (none on a dry run), what is owed, and makers it could not pay."""

    dry_run: bool
    owed: list[Owed]
    payouts: list[PayoutOut]
    failed: list[dict[str, Any]] = Field(default_factory=list)


class PayoutPage(BaseModel):
    """A maker's payouts, newest first."""

    items: list[PayoutOut]


class PayoutAccountSet(BaseModel):
    """The Stripe Connect account to transfer payouts to; null clears it (payouts are paid by hand)."""

    stripe_account_id: str | None = Field(default=None, pattern=r"^acct_[A-Za-z0-9]{1,90}$")


class PayoutAccount(PayoutAccountSet):
    """The Stripe Connect account a publisher's payouts are transferred to (null: paid by hand)."""

    publisher: str


class EntitlementOut(BaseModel):
    """A one-time purchase: the caster casts this spell free from now on."""

    spell_id: str
    cast_id: str
    price_micros: int
    currency: str
    bought_at: str

    @classmethod
    def from_row(cls, row: Entitlement) -> EntitlementOut:
        """The purchase as recorded."""
        return cls(
            spell_id=row.spell_id,
            cast_id=row.cast_id,
            price_micros=row.price_micros,
            currency=row.currency,
            bought_at=to_rfc3339(row.bought_at),
        )


class EntitlementPage(BaseModel):
    """The caller's one-time purchases."""

    items: list[EntitlementOut]


class Purchase(BaseModel):
    """A one-time purchase as ``POST /v1/spells/{id}/purchase`` answers it: ``charged`` is false when the
    caller had bought the spell already (nothing moved); ``clone`` says its archive may be downloaded."""

    entitlement: EntitlementOut
    charged: bool
    clone: bool
