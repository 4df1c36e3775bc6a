"""Rate limits shared by every server process: a fixed one-minute window per key in Redis.

``INCR`` and ``EXPIRE`` run in one transaction, so concurrent hits from many processes count exactly.
"""

from __future__ import annotations

import time
from typing import Any

from spell.errors import Overloaded, RateLimited

__all__ = ["RedisRateLimiter"]


class RedisRateLimiter:
    """At most ``per_minute`` hits per key in each UTC minute."""

    def __init__(self, url: str, per_minute: int, *, prefix: str = "spell:rl:", client: Any = None) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        import redis

        self.per_minute = per_minute
        self.prefix = prefix
        self._redis = client if client is not None else redis.Redis.from_url(url, socket_timeout=2)

    def hit(self, key: str) -> None:
        """Count one hit in the current minute or raise ``RATE_LIMITED`` (``OVERLOADED`` if Redis is down)."""
        import redis

        now = time.time()
        window = int(now // 60)
        name = f"{self.prefix}{key}:{window}"
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.incr(name)
            pipe.expire(name, 120)
            count, _ = pipe.execute()
        except redis.RedisError as exc:
            raise Overloaded(f"the rate limiter is unavailable: {exc}", retry_after=5) from exc
        if int(count) > self.per_minute:
            raise RateLimited(
                "too many casts; slow down",
                retry_after=max(1, 60 - int(now % 60)),
                details={"limit_per_minute": self.per_minute},
            )
