"""Wire shapes of billing: estimates, hosted payment pages, top-ups, webhook receipts, maker shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from spell.kit.money import MAX_MICROS
from spell.platform.ledger.schemas import MoneyAmount

if TYPE_CHECKING:  # rows are only read here: the SDK imports these shapes without the database models
    from spell.models.payment import PaymentRecord

__all__ = [
    "CheckoutRequest",
    "Estimate",
    "EstimateRequest",
    "HostedPage",
    "MakerShare",
    "PortalRequest",
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
    """A card payment into the wallet."""

    id: str
    status: str
    payment_ref: str | None
    amount_micros: int
    currency: str

    @classmethod
    def from_row(cls, record: PaymentRecord) -> TopUp:
        """The payment as recorded."""
        return cls(
            id=record.id,
            status=record.status,
            payment_ref=record.provider_ref,
            amount_micros=record.amount_micros,
            currency=record.currency,
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
