"""Billing settings: ``SPELL_BILLING_*`` (Stripe keys, maker share), read once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass

from spell.config.runtime import env_int
from spell.errors import InvalidInput

__all__ = ["BillingSettings"]


@dataclass(frozen=True)
class BillingSettings:
    """Card payments are on when a Stripe API key is set; otherwise wallets are operator-credited only."""

    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None  # another Stripe-compatible endpoint (tests, proxies)
    maker_share_bps: int = 8_000

    @property
    def stripe_enabled(self) -> bool:
        """True when card payments through Stripe are configured."""
        return bool(self.stripe_api_key)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> BillingSettings:
        """Read ``SPELL_BILLING_STRIPE_{API_KEY,WEBHOOK_SECRET,API_BASE}`` and ``…_MAKER_SHARE_BPS``."""
        env = os.environ if environ is None else environ
        key = env.get("SPELL_BILLING_STRIPE_API_KEY") or None
        secret = env.get("SPELL_BILLING_STRIPE_WEBHOOK_SECRET") or None
        if key and not secret:
            raise InvalidInput(
                "SPELL_BILLING_STRIPE_WEBHOOK_SECRET is required when SPELL_BILLING_STRIPE_API_KEY is set",
                hint="copy the signing secret (whsec_…) of your webhook endpoint",
            )
        share = env_int(env, "SPELL_BILLING_MAKER_SHARE_BPS", 8_000)
        if share > 10_000:
            raise InvalidInput(f"SPELL_BILLING_MAKER_SHARE_BPS must be at most 10000, got {share}")
        return cls(key, secret, env.get("SPELL_BILLING_STRIPE_API_BASE") or None, share)
