"""``spell mcp`` over stdio: the MCP SDK's client runs it as a subprocess against a live server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError

from spell.client import Client as SpellClient
from spell.client.models import BudgetCaps
from spell.mcp.outputs import UNAUTHORIZED
from tests.api.money_helpers import credit
from tests.client.live_server import LiveServer, expire_key
from tests.fixtures.server import Caller, seed_user
from tests.mcp.agents import (
    SRC,
    data,
    list_detail_estimate_cast_and_read,
    publish_spells,
    refusal,
    stdio_agent,
)

pytestmark = pytest.mark.anyio


async def test_an_agent_over_stdio_casts_with_progress_reads_the_artifact_and_polls_a_long_cast(
    live: LiveServer, funded_caster: Caller, tmp_path: Path
) -> None:
    caster = funded_caster
    async with stdio_agent(live, caster.token, tmp_path / "agent-home") as agent:
        await list_detail_estimate_cast_and_read(agent)
        started = data(await agent.call_tool("spells_cast", {"spell_id": "acme/sleeper", "wait_seconds": 0}))
        assert started["done"] is False
        ended = data(await agent.call_tool("casts_get", {"cast_id": started["cast_id"], "wait_seconds": 30}))
        assert (ended["done"], ended["status"]) == (True, "timeout")


async def test_over_stdio_a_budget_cap_and_a_missing_scope_are_tool_errors(
    live: LiveServer, tmp_path: Path
) -> None:
    publish_spells(live, tmp_path)
    capped = seed_user(live.platform, "capped@example.com", ["caster"])
    credit(live.platform, capped.user_id, 1_000_000)
    with SpellClient(live.url, capped.token) as client:
        client.budget.set(BudgetCaps(daily_micros=1))
    reader = seed_user(live.platform, "reader@example.com", ["caster"], scopes=["spell:read"])
    async with stdio_agent(live, capped.token, tmp_path / "capped-home") as agent:
        budget = refusal(
            await agent.call_tool("spells_cast", {"spell_id": "acme/writer", "input": "w:a.txt"})
        )
    async with stdio_agent(live, reader.token, tmp_path / "reader-home") as agent:
        scope = refusal(await agent.call_tool("spells_cast", {"spell_id": "acme/sleeper"}))
    assert budget["code"] == "BUDGET_CAP_EXCEEDED"
    assert budget["retry_after"] > 0
    assert scope["code"] == "FORBIDDEN"


async def test_over_stdio_an_unusable_key_is_a_protocol_error(live: LiveServer, tmp_path: Path) -> None:
    caster = seed_user(live.platform, "expired@example.com", ["caster"])
    expire_key(live, caster)
    async with stdio_agent(live, caster.token, tmp_path / "home") as agent:
        with pytest.raises(MCPError) as refused:
            await agent.call_tool("budget_get", {})
    assert refused.value.code == UNAUTHORIZED
    assert refused.value.data == {"code": "UNAUTHORIZED"}


def test_spell_mcp_without_a_server_or_key_says_how_to_log_in(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(SRC), "XDG_CONFIG_HOME": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", "from spell.cli.app import main; main()", "mcp"],
        env={**env, "HOME": str(tmp_path), "SPELL_HOME": str(tmp_path / "spell")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode != 0
    assert run.stdout == ""
    assert "not logged in" in run.stderr
    assert "spell login" in run.stderr
