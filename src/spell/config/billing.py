"""Billing settings: ``SPELL_BILLING_*`` (Stripe keys, maker share), read once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from spell.config.group import layered, read, setting
from spell.errors import InvalidInput

__all__ = ["BillingSettings"]


@dataclass(frozen=True)
class BillingSettings:
    """Card payments are on when a Stripe API key is set; otherwise wallets are operator-credited only."""

    env_prefix: ClassVar[str] = "SPELL_BILLING_"

    stripe_api_key: str | None = setting(
        None, "turns card payments through Stripe on", shown_default="none (operator-credited wallets)"
    )
    stripe_webhook_secret: str | None = setting(
        None, "the signing secret (`whsec_…`) of the Stripe webhook endpoint; required with the API key"
    )
    stripe_api_base: str | None = setting(
        None, "another Stripe-compatible endpoint (tests, proxies)", shown_default="Stripe's"
    )
    maker_share_bps: int = setting(
        8_000, "the maker's share of each charge, in basis points", ge=0, le=10_000
    )

    @property
    def stripe_enabled(self) -> bool:
        """True when card payments through Stripe are configured."""
        return bool(self.stripe_api_key)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BillingSettings:
        """Read ``SPELL_BILLING_*``; a Stripe key needs its webhook secret."""
        settings = read(cls, layered(environ), cls())
        if settings.stripe_api_key and not settings.stripe_webhook_secret:
            raise InvalidInput(
                "SPELL_BILLING_STRIPE_WEBHOOK_SECRET is required when SPELL_BILLING_STRIPE_API_KEY is set",
                hint="copy the signing secret (whsec_…) of your webhook endpoint",
            )
        return settings
