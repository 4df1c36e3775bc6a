"""The time source passed to code that stamps or measures time, so tests move it instead of sleeping.

``now()`` is the wall clock (timezone-aware UTC, for ``*_at`` columns and ages); ``monotonic()`` is
seconds on a clock that never goes back (for deadlines and durations). Production code takes a
``Clock`` and defaults to ``SystemClock()``; tests pass a ``FakeClock`` and ``advance`` it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """A source of the current time."""

    def now(self) -> datetime:
        """The current wall-clock time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences between two readings mean anything."""
        ...


class SystemClock:
    """The machine's clocks."""

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()


class FakeClock:
    """A clock that stands still until ``advance`` moves both readings by the same amount.

    Safe to read and advance from several threads (runners read it while a test advances it).
    """

    def __init__(self, start: datetime) -> None:
        """Start at ``start`` (must be timezone-aware); ``monotonic()`` starts at 0.0."""
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("the start time has no time zone")
        self._now = start.astimezone(UTC)
        self._monotonic = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The time it was started at plus every ``advance`` so far."""
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        """Seconds advanced so far."""
        with self._lock:
            return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move both readings forward by ``seconds`` (never backward: a negative step is refused)."""
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._monotonic += seconds
