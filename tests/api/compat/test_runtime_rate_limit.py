"""Presses count against the cast rate limits: past them, spell-runtime's 429 ``RATE_LIMITED``."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import httpx
import pytest

from spell.config.server import ServerSettings
from spell.platform.server import Platform
from tests.fixtures.server import seed_user

pytestmark = pytest.mark.anyio


class _PinnedClock:
    """The middle of a minute: the window never straddles two (as tests/api/test_rate_limit.py)."""

    def __init__(self) -> None:
        self.now = float(int(time.time()) // 60 * 60 + 30)

    def time(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    pinned = _PinnedClock()
    for module in ("limits.strategies", "limits.storage.memory", "spell.platform.ratelimit.limiter"):
        monkeypatch.setattr(f"{module}.time", pinned)


@pytest.fixture
def server_settings(server_settings: ServerSettings) -> ServerSettings:
    return dataclasses.replace(server_settings, rate_limit_per_minute=2)


async def test_a_press_past_the_rate_limit_is_rate_limited_with_retry_after(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    for _ in range(2):
        counted = await client.post(
            "/api/spell-executions", headers=caster.headers, json={"button_id": "none"}
        )
        assert counted.json()["error_code"] == "BUTTON_NOT_FOUND"
    limited = await client.post("/api/spell-executions", headers=caster.headers, json={"button_id": "none"})
    assert limited.status_code == 429, limited.text
    assert limited.json()["error_code"] == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.json()["retry_after"] == int(limited.headers["Retry-After"])
