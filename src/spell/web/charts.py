"""Bar charts drawn on the server: the geometry of an inline SVG, and the rows of its data table.

Templates draw them with ``charts/_bars.html`` (no JavaScript): the SVG carries a ``<title>`` and a
``<desc>`` summing the series up, and the same numbers follow as a table for screen readers and for
anyone who wants the exact values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from spell.kit.money import format_micros
from spell.platform.ledger.schemas import UsageLine

__all__ = ["Bar", "BarChart", "daily_chart"]

WIDTH = 720
HEIGHT = 220
_TOP = 16  # room above the tallest bar for its label
_BOTTOM = 24  # room below the axis for the first and last day
_LEFT = 8


@dataclass(frozen=True)
class Bar:
    """One day: its label, its value, and where the bar sits in the SVG's coordinates."""

    label: str
    micros: int
    casts: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    """A titled series of bars in one currency."""

    title: str
    description: str
    currency: str
    bars: list[Bar]
    total_micros: int
    peak_micros: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def baseline(self) -> float:
        """The y of the axis the bars stand on."""
        return float(self.height - _BOTTOM)


def _days(start: date, end: date) -> list[date]:
    count = (end - start).days + 1
    return [start + timedelta(days=n) for n in range(max(count, 0))]


def daily_chart(
    title: str, lines: Iterable[UsageLine], *, currency: str, start: datetime, end: datetime
) -> BarChart:
    """One bar per UTC day from ``start`` to ``end`` (days without a line are zero) for the lines
    in ``currency``; ``description`` says the total, the busiest day and the range in words."""
    per_day: dict[str, tuple[int, int]] = {}
    for line in lines:
        if line.currency == currency and line.day is not None:
            micros, casts = per_day.get(line.day, (0, 0))
            per_day[line.day] = (micros + line.amount_micros, casts + line.casts)
    days = _days(start.date(), (end - timedelta(microseconds=1)).date())
    peak = max((micros for micros, _ in per_day.values()), default=0)
    total = sum(micros for micros, _ in per_day.values())
    plot = HEIGHT - _TOP - _BOTTOM
    slot = (WIDTH - _LEFT) / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        micros, casts = per_day.get(day.isoformat(), (0, 0))
        tall = plot * micros / peak if peak else 0.0
        bars.append(
            Bar(
                label=day.isoformat(),
                micros=micros,
                casts=casts,
                x=round(_LEFT + index * slot + slot * 0.1, 2),
                y=round(HEIGHT - _BOTTOM - tall, 2),
                width=round(slot * 0.8, 2),
                height=round(tall, 2),
            )
        )
    busiest = max(bars, key=lambda bar: bar.micros) if peak else None
    span = f"{days[0].isoformat()} to {days[-1].isoformat()}" if days else "no days"
    summary = f"{format_micros(total, currency)} in total from {span}"
    summary += (
        f"; the most on {busiest.label}, {format_micros(busiest.micros, currency)}." if busiest else "."
    )
    return BarChart(
        title=title,
        description=summary,
        currency=currency,
        bars=bars,
        total_micros=total,
        peak_micros=peak,
    )
