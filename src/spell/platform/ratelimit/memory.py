"""Token buckets in process memory: ``per_minute`` tokens a minute, up to ``burst`` saved up.

One bucket per key (an API key id or a user id). A refused hit raises ``RATE_LIMITED`` with
``retry_after``: the whole seconds until the next token.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

from spell.errors import RateLimited

__all__ = ["MemoryRateLimiter", "NoRateLimit", "RateLimiter"]


class RateLimiter(Protocol):
    """Counts hits per key and refuses the ones over the limit."""

    def hit(self, key: str) -> None:
        """Take one token for ``key`` or raise ``RATE_LIMITED``."""
        ...


class NoRateLimit:
    """Never refuses (rate limiting switched off)."""

    def hit(self, key: str) -> None:
        """Accept every hit."""


class MemoryRateLimiter:
    """Thread-safe token buckets; ``clock`` is injectable for tests."""

    def __init__(
        self, per_minute: int, *, burst: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else per_minute)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)

    def hit(self, key: str) -> None:
        """Take one token for ``key`` or raise ``RATE_LIMITED`` with the seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self.rate)
                raise RateLimited(
                    "too many casts; slow down",
                    retry_after=max(wait, 1),
                    details={"limit_per_minute": round(self.rate * 60)},
                )
            self._buckets[key] = (tokens - 1.0, now)
