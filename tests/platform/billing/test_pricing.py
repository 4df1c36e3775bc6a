"""Estimates, charges and revenue splits from a spell's pricing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spell.bundle.manifest import Billing, Pricing, SpellManifest
from spell.errors import InvalidInput
from spell.kit.money import Money
from spell.platform.billing.pricing import (
    CastBounds,
    actual_cost,
    effective_pricing,
    estimate_max,
    pricing_from_billing,
    reported_events,
    split_revenue,
)
from spell.runtimes.base import Limits, Outcome, Usage

BOUNDS = CastBounds(timeout_ms=1_000, max_output_bytes=2_000_000, max_network_requests=10)
METERED = Pricing(
    model="metered",
    amount_micros=100,
    per_compute_ms_micros=3,
    per_output_mb_micros=1_000,
    per_network_request_micros=50,
)
PER_EVENT = Pricing(model="per_event", amount_micros=10, events={"page": 100, "image": 250}, max_events=3)


def _charge(pricing: Pricing, outcome: Outcome, usage: Usage | None = None, **kw: Any) -> int:
    hold = estimate_max(pricing, BOUNDS)
    return actual_cost(
        pricing, outcome=outcome, usage=usage or Usage(), hold=hold, bounds=BOUNDS, **kw
    ).amount.micros


def test_estimate_of_each_model_is_its_worst_case_under_the_limits() -> None:
    assert estimate_max(Pricing(), BOUNDS).micros == 0
    assert estimate_max(Pricing(model="flat", amount_micros=5), BOUNDS).micros == 5
    assert estimate_max(Pricing(model="one_time", amount_micros=7), BOUNDS).micros == 7
    assert estimate_max(METERED, BOUNDS).micros == 100 + 3 * 1_000 + 2_000 + 50 * 10
    assert estimate_max(PER_EVENT, BOUNDS).micros == 10 + 3 * 250


def test_bounds_come_from_runtime_limits() -> None:
    bounds = CastBounds.from_limits(Limits(timeout_ms=5, max_stdout_bytes=9), max_network_requests=2)
    assert bounds == CastBounds(5, 9, 2)


def test_metered_charge_uses_measured_usage_rounded_up_per_component() -> None:
    usage = Usage(wall_ms=10.2, output_bytes=1_500, network_requests=2)
    assert _charge(METERED, Outcome.SUCCEEDED, usage) == 100 + 3 * 11 + 2 + 100


def test_charge_is_never_above_the_hold() -> None:
    usage = Usage(wall_ms=10**9, output_bytes=10**12, network_requests=10**6)
    assert _charge(METERED, Outcome.SUCCEEDED, usage) == estimate_max(METERED, BOUNDS).micros
    small_hold = actual_cost(
        METERED, outcome=Outcome.SUCCEEDED, usage=usage, hold=Money(42, "USD"), bounds=BOUNDS
    )
    assert small_hold.amount.micros == 42


def test_not_started_and_platform_faults_are_free() -> None:
    flat = Pricing(model="flat", amount_micros=5, charge_on_failure=True)
    assert _charge(flat, Outcome.SUCCEEDED, started=False) == 0
    assert _charge(flat, Outcome.INTERNAL) == 0


def test_spell_failure_is_charged_only_with_charge_on_failure() -> None:
    assert _charge(Pricing(model="flat", amount_micros=5), Outcome.FAILED) == 0
    assert _charge(Pricing(model="flat", amount_micros=5, charge_on_failure=True), Outcome.TRAP) == 5


def test_metered_timeout_charges_usage_up_to_the_limit() -> None:
    charge = actual_cost(
        METERED,
        outcome=Outcome.TIMEOUT,
        usage=Usage(wall_ms=1_500.0),
        hold=estimate_max(METERED, BOUNDS),
        bounds=BOUNDS,
    )
    assert charge.reason == "timeout"
    assert charge.lines["compute"] == 3 * 1_000
    assert _charge(Pricing(model="flat", amount_micros=5), Outcome.TIMEOUT) == 0


def test_per_event_charges_reported_events_up_to_max_events() -> None:
    assert _charge(PER_EVENT, Outcome.SUCCEEDED, events={"page": 2}) == 10 + 200
    assert _charge(PER_EVENT, Outcome.SUCCEEDED, events={"page": 2, "image": 5}) == 10 + 200 + 250


def test_per_event_refuses_undeclared_or_negative_events() -> None:
    with pytest.raises(InvalidInput) as undeclared:
        _charge(PER_EVENT, Outcome.SUCCEEDED, events={"video": 1})
    assert undeclared.value.code == "VALIDATION_ERROR"
    with pytest.raises(InvalidInput):
        _charge(PER_EVENT, Outcome.SUCCEEDED, events={"page": -1})


def test_charge_refuses_a_hold_in_another_currency() -> None:
    with pytest.raises(InvalidInput) as exc:
        actual_cost(METERED, outcome=Outcome.SUCCEEDED, usage=Usage(), hold=Money(1, "EUR"), bounds=BOUNDS)
    assert exc.value.details["hold_currency"] == "EUR"


def test_free_spells_cost_nothing_whatever_happens() -> None:
    assert _charge(Pricing(), Outcome.SUCCEEDED, Usage(wall_ms=99.0)) == 0


def test_split_gives_the_maker_80_percent_by_default_rounded_down() -> None:
    split = split_revenue(Money(1_001, "USD"))
    assert (split.maker.micros, split.platform.micros) == (800, 201)
    assert split.total == Money(1_001, "USD")
    override = split_revenue(Money(1_000, "USD"), maker_share_bps=9_500)
    assert override.maker.micros == 950


def test_split_refuses_a_share_outside_0_to_100_percent() -> None:
    with pytest.raises(InvalidInput) as exc:
        split_revenue(Money(1, "USD"), maker_share_bps=10_001)
    assert exc.value.code == "VALIDATION_ERROR"


def test_spell_runtime_billing_maps_onto_flat_pricing() -> None:
    assert pricing_from_billing(Billing()).model == "free"
    upfront = pricing_from_billing(Billing(enabled=True, mode="upfront", currency="JPY", max_amount=0.1))
    assert (upfront.model, upfront.amount_micros, upfront.currency) == ("flat", 100_000, "JPY")
    assert upfront.charge_on_failure
    on_success = pricing_from_billing(Billing(enabled=True, mode="on_success", max_amount=12))
    assert on_success.amount_micros == 12_000_000
    assert not on_success.charge_on_failure


def test_spell_runtime_billing_finer_than_a_micro_unit_is_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        pricing_from_billing(Billing(enabled=True, mode="upfront", max_amount=1e-7))
    assert exc.value.details == {"field": "billing.max_amount"}


def _manifest(**extra: Any) -> SpellManifest:
    base: dict[str, Any] = {
        "id": "acme/x",
        "version": "1.0.0",
        "name": "x",
        "runtime": {"execution": "builtin", "builtin": "echo"},
    }
    return SpellManifest.from_dict({**base, **extra})


def test_effective_pricing_prefers_declared_pricing_over_billing() -> None:
    billing = {"enabled": True, "mode": "on_success", "max_amount": 1}
    assert effective_pricing(_manifest(billing=billing)).amount_micros == 1_000_000
    declared = _manifest(billing=billing, pricing={"model": "flat", "amount_micros": 3})
    assert effective_pricing(declared).amount_micros == 3
    assert effective_pricing(_manifest()).model == "free"


@given(
    st.sampled_from(["flat", "metered", "per_event", "one_time", "free"]),
    st.sampled_from(list(Outcome)),
    st.floats(min_value=0, max_value=1e7, allow_nan=False),
    st.integers(min_value=0, max_value=10**10),
    st.integers(min_value=0, max_value=10**4),
    st.integers(min_value=0, max_value=50),
    st.booleans(),
)
def test_charge_never_exceeds_the_estimate(
    model: str, outcome: Outcome, wall_ms: float, out_bytes: int, requests: int, pages: int, on_fail: bool
) -> None:
    pricing = Pricing.from_dict(
        {
            **METERED.to_dict(),
            "model": model,
            "events": {"page": 7},
            "max_events": 4,
            "charge_on_failure": on_fail,
        }
    )
    hold = estimate_max(pricing, BOUNDS)
    usage = Usage(wall_ms=wall_ms, output_bytes=out_bytes, network_requests=requests)
    charge = actual_cost(
        pricing, outcome=outcome, usage=usage, hold=hold, bounds=BOUNDS, events={"page": pages}
    )
    assert 0 <= charge.amount.micros <= hold.micros
    split = split_revenue(charge.amount)
    assert split.maker.micros + split.platform.micros == charge.amount.micros


def test_reported_events_keep_only_declared_whole_non_negative_counts() -> None:
    output = {"spell_events": {"page": 2, "image": -1, "video": 4, "x": True}, "result": 1}
    assert reported_events(output, PER_EVENT) == {"page": 2}
    assert reported_events({"spell_events": [1]}, PER_EVENT) == {}
    assert reported_events(["not", "an", "object"], PER_EVENT) == {}
