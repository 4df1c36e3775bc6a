"""A 429 from a live server: raised as ``RateLimited`` with the seconds to wait, or waited out."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.client import Client, RetryPolicy
from spell.config.server import ServerSettings
from spell.errors import SpellNotFound
from spell.platform.ratelimit.errors import RateLimited
from tests.api.test_rate_limit import LIMITER, PinnedClock
from tests.client.live_server import LiveServer
from tests.fixtures.server import seed_user


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    pinned = PinnedClock()
    for module in ("limits.strategies", "limits.storage.memory", LIMITER):
        monkeypatch.setattr(f"{module}.time", pinned)
    return pinned


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    """One cast a minute per key."""
    return ServerSettings.for_home(
        tmp_path / "home", database_url=database_url, secret_key="s", workers=2, rate_limit_per_minute=1
    )


def test_a_rate_limited_cast_raises_with_retry_after(live: LiveServer) -> None:
    caller = seed_user(live.platform, "busy@example.com", ["caster"])
    with Client(live.url, caller.token, retry=RetryPolicy(max_wait=0)) as client:
        with pytest.raises(SpellNotFound):  # counted before the spell is looked up
            client.cast("acme/missing")
        with pytest.raises(RateLimited) as caught:
            client.cast("acme/missing")
    assert caught.value.status_code == 429
    assert caught.value.code == "RATE_LIMITED"
    assert caught.value.retry_after == 30
    assert caught.value.details["scope"] == "credential"
