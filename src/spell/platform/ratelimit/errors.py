"""Rate-limit errors: a refused cast carries the quota it ran out of (for the ``RateLimit-*`` headers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spell.errors import QuotaError

if TYPE_CHECKING:
    from spell.platform.ratelimit.limiter import Quota

__all__ = ["CastRateLimited", "RateLimited"]


class RateLimited(QuotaError):
    """Too many requests; retry after ``retry_after`` seconds."""

    code = "RATE_LIMITED"
    status_code = 429


class CastRateLimited(RateLimited):
    """``RATE_LIMITED`` (429): the credential or its tenant used up its casts for the window."""

    def __init__(self, quota: Quota) -> None:
        super().__init__(
            f"too many casts for this {quota.scope}; slow down",
            retry_after=quota.reset_s,
            details={"scope": quota.scope, "limit": quota.limit, "window_seconds": quota.window_s},
        )
        self.quota = quota
