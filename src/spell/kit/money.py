"""Money as integer micro-units with an explicit currency; never a float.

One unit of a currency (1 USD, 1 JPY) is ``MICROS_PER_UNIT`` micro-units. Text amounts are parsed
with ``decimal`` and must be exact to the micro-unit: ``"0.0000001"`` is refused, not rounded.
Splitting an amount always hands out every micro-unit: the parts sum to the whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "BASIS_POINTS",
    "MAX_MICROS",
    "MICROS_PER_UNIT",
    "Money",
    "allocate",
    "ceil_div",
    "check_currency",
    "format_micros",
    "minor_unit_exponent",
    "parse_micros",
    "share_bps",
]

MICROS_PER_UNIT = 1_000_000
# The largest amount anything takes from outside: JSON readers and the canonical form (RFC 8785) keep
# integers exact only up to 2^53 - 1, which is about 9 billion units; database columns hold 2^63 - 1.
MAX_MICROS = 2**53 - 1
_MAX_UNITS = Decimal(MAX_MICROS).scaleb(-6)
BASIS_POINTS = 10_000
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# ISO 4217 currencies whose minor unit is not 1/100 (the ones a card processor meets in practice).
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "JPY": 0, "KMF": 0, "KRW": 0, "MGA": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


def check_currency(currency: str) -> str:
    """Return ``currency`` if it is a three-letter upper-case code; raise ``ValueError`` otherwise."""
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise ValueError(f"currency must be a three-letter ISO 4217 code like 'USD', got {currency!r}")
    return currency


def _check_int(value: Any, name: str) -> int:
    # bool is an int subclass and float is never money; both are refused explicitly.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int of micro-units, got {type(value).__name__}")
    return value


def parse_micros(text: str) -> int:
    """Parse a decimal amount in units (``"1.25"``) into micro-units (``1250000``), exactly."""
    if not isinstance(text, str):
        raise TypeError(f"amounts are parsed from decimal text, got {type(text).__name__}")
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {text!r}")
    # Compared before multiplying: an exponent like 1e999999999 would overflow the decimal context.
    if value.copy_abs() > _MAX_UNITS:
        raise ValueError(f"{text[:40]!r} is beyond the largest amount, {MAX_MICROS} micro-units")
    micros = value * MICROS_PER_UNIT
    if micros != micros.to_integral_value():
        raise ValueError(f"{text!r} is finer than one micro-unit (6 decimal places)")
    return int(micros)


def minor_unit_exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (2 for USD, 0 for JPY, 3 for KWD)."""
    return _EXPONENTS.get(check_currency(currency), 2)


def format_micros(micros: int, currency: str) -> str:
    """How people read an amount: ``"11.50 USD"``, ``"0.000125 USD"``, ``"500 JPY"``.

    The currency's minor-unit places are always shown, more only as far as the amount needs
    (up to the micro-unit), so nothing is rounded away. The one way amounts are printed.
    """
    _check_int(micros, "micros")
    units, rest = divmod(abs(micros), MICROS_PER_UNIT)
    fraction = f"{rest:06d}".rstrip("0").ljust(minor_unit_exponent(currency), "0")
    sign = "-" if micros < 0 else ""
    return f"{sign}{units}{'.' + fraction if fraction else ''} {currency}"


def ceil_div(numerator: int, denominator: int) -> int:
    """Integer division rounding up, for non-negative numerator and positive denominator."""
    if denominator <= 0 or numerator < 0:
        raise ValueError("ceil_div needs numerator >= 0 and denominator > 0")
    return -(-numerator // denominator)


def share_bps(amount: int, bps: int) -> tuple[int, int]:
    """Split ``amount`` into ``(share, rest)`` where ``share`` is ``bps``/10000 of it, rounded down.

    The remainder of the rounding goes to ``rest``, so ``share + rest == amount`` always.
    """
    _check_int(amount, "amount")
    _check_int(bps, "bps")
    if amount < 0:
        raise ValueError("amount must not be negative")
    if not 0 <= bps <= BASIS_POINTS:
        raise ValueError(f"bps must be between 0 and {BASIS_POINTS}, got {bps}")
    share = amount * bps // BASIS_POINTS
    return share, amount - share


def allocate(amount: int, weights: list[int]) -> list[int]:
    """Split ``amount`` in proportion to ``weights`` (largest remainder); the parts sum to ``amount``."""
    _check_int(amount, "amount")
    if amount < 0 or not weights or any(_check_int(w, "weight") < 0 for w in weights):
        raise ValueError("allocate needs amount >= 0 and at least one non-negative weight")
    total = sum(weights)
    if total == 0:
        raise ValueError("allocate needs at least one positive weight")
    parts = [amount * w // total for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for index in remainders[: amount - sum(parts)]:
        parts[index] += 1
    return parts


@dataclass(frozen=True, order=False)
class Money:
    """An amount in integer micro-units of an explicit currency."""

    micros: int
    currency: str

    def __post_init__(self) -> None:
        _check_int(self.micros, "micros")
        check_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in ``currency``."""
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Money from decimal text in units, e.g. ``Money.parse("1.50", "USD")``."""
        return cls(parse_micros(text), currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        """Money from the minor units a card processor counts in (cents for USD, yen for JPY)."""
        exponent = minor_unit_exponent(currency)
        return cls(_check_int(minor, "minor") * 10 ** (6 - exponent), currency)

    def to_minor(self, *, round_up: bool = False) -> int:
        """Minor units; an amount that is not whole in them raises unless ``round_up`` is set."""
        step = 10 ** (6 - minor_unit_exponent(self.currency))
        whole, rest = divmod(int(self.micros), step)
        if rest and not round_up:
            raise ValueError(f"{self} is not a whole number of minor units")
        return int(whole) + (1 if rest else 0)

    def to_decimal(self) -> Decimal:
        """The amount in units as an exact ``Decimal``."""
        return Decimal(self.micros).scaleb(-6)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.micros + other.micros, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.micros - other.micros, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.micros < other.micros

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.micros <= other.micros

    def min(self, other: Money) -> Money:
        """The smaller of two amounts of the same currency."""
        return self if self <= other else other

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: integer micros, currency and the exact decimal text."""
        return {"amount_micros": self.micros, "currency": self.currency, "amount": str(self.to_decimal())}

    def __str__(self) -> str:
        return format_micros(self.micros, self.currency)
