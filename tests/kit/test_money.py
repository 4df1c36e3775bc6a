"""Integer money: parsing, minor units, splitting without losing a micro-unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spell.kit.money import (
    MAX_MICROS,
    Money,
    allocate,
    ceil_div,
    check_currency,
    format_micros,
    minor_unit_exponent,
    parse_micros,
    share_bps,
)


def test_parse_micros_reads_decimal_text_exactly() -> None:
    assert parse_micros("1.25") == 1_250_000
    assert parse_micros(" 0.000001 ") == 1
    assert parse_micros("-2") == -2_000_000
    assert parse_micros("1e-6") == 1


@pytest.mark.parametrize("text", ["0.0000001", "abc", "NaN", "Infinity", ""])
def test_parse_micros_refuses_text_that_is_not_an_exact_amount(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_micros(text)


def test_parse_micros_refuses_floats() -> None:
    with pytest.raises(TypeError):
        parse_micros(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [1.5, True, "3"])
def test_money_refuses_anything_but_an_int(value: object) -> None:
    with pytest.raises(TypeError):
        Money(value, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["usd", "US", "USDX", ""])
def test_money_refuses_a_malformed_currency(currency: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        Money(1, currency)
    with pytest.raises(ValueError, match="ISO 4217"):
        check_currency(currency)


def test_money_adds_and_compares_only_within_one_currency() -> None:
    a = Money.parse("1.50", "USD")
    b = Money(250_000, "USD")
    assert (a + b).micros == 1_750_000
    assert (a - b).micros == 1_250_000
    assert b < a
    assert a.min(b) == b
    assert b.min(a) == b
    with pytest.raises(ValueError, match="currency mismatch"):
        _ = a + Money(1, "EUR")
    with pytest.raises(TypeError):
        _ = a + 1  # type: ignore[operator]


def test_money_prints_and_serialises_exactly() -> None:
    m = Money(-1_000_001, "USD")
    assert str(m) == "-1.000001 USD"
    assert Money(10**30, "USD").to_decimal() == Decimal(10**24)
    assert Money(1_500_000, "EUR").to_dict() == {
        "amount_micros": 1_500_000,
        "currency": "EUR",
        "amount": "1.500000",
    }
    assert Money.zero("JPY").micros == 0


def test_minor_units_follow_the_currency_exponent() -> None:
    assert minor_unit_exponent("USD") == 2
    assert minor_unit_exponent("JPY") == 0
    assert minor_unit_exponent("KWD") == 3
    assert Money.from_minor(1999, "USD").micros == 19_990_000
    assert Money.from_minor(500, "JPY").micros == 500_000_000
    assert Money(19_990_000, "USD").to_minor() == 1999
    assert Money(19_990_001, "USD").to_minor(round_up=True) == 2000
    with pytest.raises(ValueError, match="minor units"):
        Money(19_990_001, "USD").to_minor()


def test_ceil_div_rounds_up_and_refuses_bad_operands() -> None:
    assert ceil_div(0, 3) == 0
    assert ceil_div(7, 3) == 3
    with pytest.raises(ValueError, match="ceil_div"):
        ceil_div(1, 0)
    with pytest.raises(ValueError, match="ceil_div"):
        ceil_div(-1, 2)


def test_share_bps_rounds_the_share_down_and_gives_the_rest_away() -> None:
    assert share_bps(101, 8_000) == (80, 21)
    assert share_bps(0, 8_000) == (0, 0)
    with pytest.raises(ValueError, match="bps"):
        share_bps(1, 10_001)
    with pytest.raises(ValueError, match="negative"):
        share_bps(-1, 10)


def test_allocate_refuses_empty_negative_or_all_zero_weights() -> None:
    for weights in ([], [-1, 2], [0, 0]):
        with pytest.raises(ValueError, match="weight"):
            allocate(10, weights)
    with pytest.raises(ValueError, match="weight"):
        allocate(-1, [1])


def test_allocate_hands_remainders_to_the_largest_fractions() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [7, 3]) == [7, 3]


@given(st.integers(min_value=0, max_value=10**18), st.integers(min_value=0, max_value=10_000))
def test_share_bps_parts_always_sum_to_the_amount(amount: int, bps: int) -> None:
    share, rest = share_bps(amount, bps)
    assert share + rest == amount
    assert 0 <= share <= amount


@given(
    st.integers(min_value=0, max_value=10**15),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(lambda w: sum(w) > 0),
)
def test_allocate_parts_always_sum_to_the_amount(amount: int, weights: list[int]) -> None:
    parts = allocate(amount, weights)
    assert sum(parts) == amount
    assert all(p >= 0 for p in parts)
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part * sum(weights) - amount * weight) < sum(weights)


@pytest.mark.parametrize("text", ["9007199254.740992", "-9007199254.740992", "1e20", "1e999999999"])
def test_parse_micros_refuses_amounts_past_the_largest(text: str) -> None:
    with pytest.raises(ValueError, match="largest amount"):
        parse_micros(text)
    assert parse_micros("9007199254.740991") == MAX_MICROS


@pytest.mark.parametrize(
    ("micros", "currency", "text"),
    [
        (11_500_000, "USD", "11.50 USD"),
        (0, "USD", "0.00 USD"),
        (125, "USD", "0.000125 USD"),
        (-1_000_001, "USD", "-1.000001 USD"),
        (500_000_000, "JPY", "500 JPY"),
        (500_500_000, "JPY", "500.5 JPY"),
        (1_234_000, "KWD", "1.234 KWD"),
        (10_000, "USD", "0.01 USD"),
    ],
)
def test_amounts_print_with_the_minor_places_and_no_rounding(micros: int, currency: str, text: str) -> None:
    assert format_micros(micros, currency) == text
    assert str(Money(micros, currency)) == text
    assert parse_micros(text.split()[0]) == micros  # what is printed reads back exactly


def test_only_integer_micros_are_printed() -> None:
    with pytest.raises(TypeError):
        format_micros(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="currency"):
        format_micros(1, "usd")
