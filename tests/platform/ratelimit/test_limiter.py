"""The in-memory limiter counts without a thread of its own and still frees expired counters."""

from __future__ import annotations

import threading
import time

import pytest

from spell.platform.ratelimit import limiter as limiter_module
from spell.platform.ratelimit.limiter import RateLimiter


def test_counting_in_memory_starts_no_thread() -> None:
    before = set(threading.enumerate())
    limiter = RateLimiter.in_memory(per_credential=1000, per_tenant=1000)

    for index in range(200):
        limiter.hit(credential=f"key{index % 7}", tenant_id="ten")

    assert set(threading.enumerate()) - before == set()


def test_expired_counters_are_dropped_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = RateLimiter.in_memory(per_credential=1000, per_tenant=1000)
    storage = limiter._strategy.storage
    limiter.hit(credential="old", tenant_id="ten")
    assert any("old" in key for key in storage.storage)  # type: ignore[attr-defined]

    later = time.time() + 3 * limiter_module.WINDOW_S
    monkeypatch.setattr(time, "time", lambda: later)
    limiter.hit(credential="new", tenant_id="ten")

    assert not any("old" in key for key in storage.storage)  # type: ignore[attr-defined]
