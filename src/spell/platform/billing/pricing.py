"""What a cast may cost (the hold), what it did cost (the charge) and who gets what (the split).

Rules (DESIGN.md §3 "Money"):

- The estimate is the most a cast can cost under its limits; it is what gets reserved.
- The charge comes from measured usage and is never above the hold.
- Aborted before start and platform faults (``INTERNAL``, lost workers) are free.
- The spell's own failure is charged only when its pricing says ``charge_on_failure``.
- A timeout of a ``metered`` spell charges the usage up to the limit.
- Metered parts are rounded up to the micro-unit per component; the split rounds the maker's share
  down and gives the remainder to the platform, so no micro-unit is created or lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

from spell.bundle.manifest import Billing, Pricing, SpellManifest
from spell.errors import InvalidInput
from spell.kit.money import BASIS_POINTS, Money, ceil_div, parse_micros, share_bps
from spell.runtimes.base import Limits, Outcome, Usage

__all__ = [
    "BYTES_PER_MB",
    "DEFAULT_MAKER_SHARE_BPS",
    "CastBounds",
    "Charge",
    "Split",
    "actual_cost",
    "effective_pricing",
    "estimate_max",
    "pricing_from_billing",
    "reported_events",
    "split_revenue",
]

BYTES_PER_MB = 1_000_000  # output is priced per SI megabyte, pro rata
EVENTS_FIELD = "spell_events"  # where a per_event spell reports its events in its JSON output
DEFAULT_MAKER_SHARE_BPS = 8_000
# The spell's own failures: charged only with ``charge_on_failure``.
_SPELL_FAULTS = frozenset(
    {
        Outcome.FAILED,
        Outcome.TRAP,
        Outcome.FUEL_EXHAUSTED,
        Outcome.MEMORY_LIMIT,
        Outcome.OUTPUT_LIMIT,
        Outcome.POLICY_VIOLATION,
        Outcome.TIMEOUT,
        Outcome.CANCELED,
    }
)


@dataclass(frozen=True)
class CastBounds:
    """The limits a cast runs under, as far as they bound its price."""

    timeout_ms: int
    max_output_bytes: int
    max_network_requests: int = 0

    @classmethod
    def from_limits(cls, limits: Limits, *, max_network_requests: int = 0) -> CastBounds:
        """Bounds of a runtime ``Limits`` (output is what the spell may write to stdout)."""
        return cls(limits.timeout_ms, limits.max_stdout_bytes, max_network_requests)


@dataclass(frozen=True)
class Charge:
    """The amount to capture from a hold, with the parts it was made of."""

    amount: Money
    reason: str
    lines: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Split:
    """How a charge is shared: ``maker + platform == total``."""

    maker: Money
    platform: Money

    @property
    def total(self) -> Money:
        """The whole charge."""
        return self.maker + self.platform


def pricing_from_billing(billing: Billing) -> Pricing:
    """Map spell-runtime's ``billing`` block onto ``Pricing``.

    ``upfront`` is paid before the spell runs, so a failure keeps the charge; ``on_success`` is not.
    ``max_amount`` is in units of the currency and is parsed as decimal text, never as a float sum.
    """
    if not billing.enabled:
        return Pricing(currency=billing.currency)
    try:
        micros = parse_micros(repr(billing.max_amount))
    except ValueError as exc:
        raise InvalidInput(f"billing.max_amount: {exc}", details={"field": "billing.max_amount"}) from exc
    return Pricing(
        model="flat",
        currency=billing.currency,
        amount_micros=micros,
        charge_on_failure=billing.mode == "upfront",
    )


def effective_pricing(manifest: SpellManifest) -> Pricing:
    """The manifest's ``pricing``, or its spell-runtime ``billing`` when no pricing is declared."""
    if manifest.pricing.model == "free" and manifest.billing.enabled:
        return pricing_from_billing(manifest.billing)
    return manifest.pricing


def estimate_max(pricing: Pricing, bounds: CastBounds) -> Money:
    """The most a cast can cost: the amount reserved before it is queued."""
    base = pricing.amount_micros
    if pricing.model == "metered":
        total = base + _metered(
            pricing, bounds.timeout_ms, bounds.max_output_bytes, bounds.max_network_requests
        )
    elif pricing.model == "per_event":
        total = base + pricing.max_events * max(pricing.events.values(), default=0)
    elif pricing.model == "free":
        total = 0
    else:  # flat, one_time
        total = base
    return Money(total, pricing.currency)


def actual_cost(
    pricing: Pricing,
    *,
    outcome: Outcome,
    usage: Usage,
    hold: Money,
    bounds: CastBounds,
    events: Mapping[str, int] | None = None,
    started: bool = True,
) -> Charge:
    """The charge of a finished cast, from measured usage; never above ``hold``."""
    if hold.currency != pricing.currency:
        raise InvalidInput(
            f"the hold is in {hold.currency} but the spell is priced in {pricing.currency}",
            details={"hold_currency": hold.currency, "pricing_currency": pricing.currency},
        )
    zero = Money.zero(pricing.currency)
    if not started:
        return Charge(zero, "not_started")
    if outcome is Outcome.INTERNAL:
        return Charge(zero, "platform_fault")
    metered_timeout = outcome is Outcome.TIMEOUT and pricing.model == "metered"
    if outcome in _SPELL_FAULTS and not pricing.charge_on_failure and not metered_timeout:
        return Charge(zero, "spell_failed")
    lines = _lines(pricing, usage, bounds, events or {})
    amount = Money(sum(lines.values()), pricing.currency).min(hold)
    reason = "succeeded" if outcome.is_success else ("timeout" if metered_timeout else "charged_on_failure")
    return Charge(amount, reason, lines)


def split_revenue(amount: Money, *, maker_share_bps: int = DEFAULT_MAKER_SHARE_BPS) -> Split:
    """Share a charge between maker and platform; the maker's part is rounded down."""
    if not 0 <= maker_share_bps <= BASIS_POINTS:
        raise InvalidInput(
            f"maker share must be between 0 and {BASIS_POINTS} basis points, got {maker_share_bps}",
            details={"maker_share_bps": maker_share_bps},
        )
    maker, platform = share_bps(amount.micros, maker_share_bps)
    return Split(Money(maker, amount.currency), Money(platform, amount.currency))


def _lines(pricing: Pricing, usage: Usage, bounds: CastBounds, events: Mapping[str, int]) -> dict[str, int]:
    if pricing.model == "free":
        return {}
    lines = {"base": pricing.amount_micros}
    if pricing.model == "metered":
        compute_ms = min(_whole_ms(usage.wall_ms), bounds.timeout_ms)
        output = min(usage.output_bytes, bounds.max_output_bytes)
        requests = min(usage.network_requests, bounds.max_network_requests)
        lines["compute"] = pricing.per_compute_ms_micros * compute_ms
        lines["output"] = _output_micros(pricing, output)
        lines["network"] = pricing.per_network_request_micros * requests
    elif pricing.model == "per_event":
        lines["events"] = _events_micros(pricing, events)
    return lines


def _events_micros(pricing: Pricing, events: Mapping[str, int]) -> int:
    unknown = sorted(set(events) - set(pricing.events))
    if unknown:
        raise InvalidInput(
            f"the spell reported event {unknown[0]!r}, which its pricing does not declare",
            details={"events": unknown, "declared": sorted(pricing.events)},
        )
    if any(count < 0 for count in events.values()):
        raise InvalidInput("event counts must not be negative", details={"events": dict(events)})
    counted = 0
    total = 0
    # Events beyond ``max_events`` are dropped in the order the spell reported them.
    for name, count in events.items():
        allowed = max(0, min(count, pricing.max_events - counted))
        total += allowed * pricing.events[name]
        counted += allowed
    return total


def _metered(pricing: Pricing, compute_ms: int, output_bytes: int, requests: int) -> int:
    return (
        pricing.per_compute_ms_micros * compute_ms
        + _output_micros(pricing, output_bytes)
        + pricing.per_network_request_micros * requests
    )


def _output_micros(pricing: Pricing, output_bytes: int) -> int:
    return ceil_div(pricing.per_output_mb_micros * output_bytes, BYTES_PER_MB)


def _whole_ms(measured: float) -> int:
    """Measured wall time rounded up to a whole millisecond (via decimal text, not float maths)."""
    if measured <= 0:
        return 0
    return int(Decimal(repr(measured)).to_integral_value(rounding=ROUND_CEILING))


def reported_events(output: Any, pricing: Pricing) -> dict[str, int]:
    """The priced events a spell reported under ``spell_events`` in its output object.

    Only events its pricing declares, with whole non-negative counts, are kept: what a spell writes
    can lower its own bill to zero but never raise it beyond the declared prices and the hold.
    """
    if not isinstance(output, dict):
        return {}
    raw = output.get(EVENTS_FIELD)
    if not isinstance(raw, dict):
        return {}
    return {
        name: count
        for name, count in raw.items()
        if name in pricing.events and isinstance(count, int) and not isinstance(count, bool) and count >= 0
    }
