"""A rate-limited agent gets RATE_LIMITED with retry_after as a tool error, over both transports."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.config.server import ServerSettings
from tests.api.test_rate_limit import LIMITER, PinnedClock
from tests.client.live_server import LiveServer
from tests.fixtures.server import Caller
from tests.mcp.agents import data, http_agent, refusal, stdio_agent

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    """The limiter's window stands still: the three casts never straddle two minutes."""
    pinned = PinnedClock()
    for module in ("limits.strategies", "limits.storage.memory", LIMITER):
        monkeypatch.setattr(f"{module}.time", pinned)
    return pinned


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    """One cast per credential per minute."""
    return ServerSettings.for_home(
        tmp_path / "home",
        database_url=database_url,
        secret_key="test-secret",
        sse_heartbeat_seconds=0.2,
        rate_limit_per_minute=1,
        tenant_rate_limit_per_minute=100,
    )


async def test_the_second_cast_in_a_minute_is_rate_limited_over_http_and_stdio(
    live: LiveServer, funded_caster: Caller, tmp_path: Path
) -> None:
    cast = {"spell_id": "acme/writer", "input": "w:a.txt"}
    async with http_agent(live, funded_caster.token) as agent:
        assert data(await agent.call_tool("spells_cast", cast))["status"] == "succeeded"
        over_http = refusal(await agent.call_tool("spells_cast", {**cast, "input": "w:b.txt"}))
    async with stdio_agent(live, funded_caster.token, tmp_path / "agent-home") as agent:
        over_stdio = refusal(await agent.call_tool("spells_cast", {**cast, "input": "w:c.txt"}))
    for error in (over_http, over_stdio):
        assert error["code"] == "RATE_LIMITED"
        assert 0 < error["retry_after"] <= 60
