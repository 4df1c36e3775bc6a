"""The resources' limits, through the MCP server in-process (the SDK's client connects to it directly)
with an SDK client of a live server behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPError

from spell.client import AsyncClient
from spell.mcp import build_server
from spell.mcp.resources import RESOURCE_NOT_FOUND
from tests.client.live_server import LiveServer
from tests.fixtures.server import Caller
from tests.mcp.agents import data

pytestmark = pytest.mark.anyio


async def test_an_artifact_over_the_size_cap_is_refused_naming_the_cap(
    live: LiveServer, funded_caster: Caller
) -> None:
    caster = funded_caster

    @asynccontextmanager
    async def open_client(_ctx: Context[Any, Any]) -> AsyncIterator[AsyncClient]:
        async with AsyncClient(live.url, caster.token) as client:
            yield client

    async with Client(build_server(open_client, max_artifact_bytes=1)) as agent:
        small = data(await agent.call_tool("spells_cast", {"spell_id": "acme/writer", "input": "w:one.txt"}))
        read = await agent.read_resource(small["artifacts"][0]["uri"])
        assert getattr(read.contents[0], "text", None) == "x"
    async with Client(build_server(open_client, max_artifact_bytes=0)) as agent:
        with pytest.raises(MCPError) as refused:
            await agent.read_resource(small["artifacts"][0]["uri"])
        with pytest.raises(MCPError) as unknown:
            await agent.read_resource("artifact://cast_nothing/out/one.txt")
    assert refused.value.data["code"] == "PAYLOAD_TOO_LARGE"
    assert refused.value.data["details"] == {"name": "out/one.txt", "size": 1, "limit": 0}
    assert unknown.value.code == RESOURCE_NOT_FOUND
    assert unknown.value.data["code"] == "CAST_NOT_FOUND"
