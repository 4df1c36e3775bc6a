"""UTC budget windows: where each one starts and how long until it resets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["EPOCH", "seconds_to_reset", "window_start"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(window: str, moment: datetime) -> datetime:
    """Start of the ``daily``, ``monthly`` or ``total`` window that contains ``moment``."""
    moment = moment.astimezone(UTC)
    if window == "daily":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "monthly":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if window == "total":
        return EPOCH
    raise ValueError(f"unknown budget window {window!r}")


def _next_start(window: str, start: datetime) -> datetime | None:
    if window == "daily":
        return start + timedelta(days=1)
    if window == "monthly":
        return (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
    return None


def seconds_to_reset(window: str, moment: datetime) -> int | None:
    """Whole seconds (rounded up) until the window containing ``moment`` resets; ``None`` if never."""
    nxt = _next_start(window, window_start(window, moment))
    if nxt is None:
        return None
    remaining = nxt - moment.astimezone(UTC)
    return max(1, -(-int(remaining.total_seconds() * 1_000_000) // 1_000_000))
