"""What the MCP tests share: published spells, an MCP client over either transport, result readers."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult

from spell.client import Client as SpellClient
from spell.signing.signature import sign_bundle
from tests.client.live_server import LiveServer, maker_of, writer_bundle
from tests.fixtures.bundles import wasm_bundle

SRC = Path(__file__).resolve().parents[2] / "src"
SLEEPER_WAT = (Path(__file__).resolve().parents[1] / "assets" / "wasm" / "sleeper.wat").read_text(
    encoding="utf-8"
)


def publish_spells(live: LiveServer, tmp_path: Path) -> None:
    """``acme/writer`` (priced WASM writing the file its input names), ``acme/sleeper`` (runs until its
    1.5 s timeout) and ``acme/wipe`` (high risk)."""
    maker = maker_of(live)
    signer = maker.publisher
    assert signer is not None
    sleeper = wasm_bundle(tmp_path / "sleeper", "acme/sleeper", wat=SLEEPER_WAT, schema={}, timeout_ms=1500)
    sign_bundle(sleeper, signer.private_key, key_id=signer.key_id)
    wipe = wasm_bundle(tmp_path / "wipe", "acme/wipe", schema={})
    with (wipe / "spell.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write("risk: high\n")
    sign_bundle(wipe, signer.private_key, key_id=signer.key_id)
    with SpellClient(live.url, maker.token) as client:
        client.spells.register_key("acme", signer.key_id, signer.public_key)
        client.spells.publish(writer_bundle(tmp_path / "writer", signer), tags=["files"])
        client.spells.publish(sleeper)
        client.spells.publish(wipe)


@asynccontextmanager
async def http_agent(live: LiveServer, token: str | None, **headers: str) -> AsyncIterator[Client]:
    """An MCP client of ``/mcp`` on the live server, sending ``token`` as its bearer."""
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    http = create_mcp_http_client(headers=headers)
    async with http, Client(streamable_http_client(f"{live.url}/mcp", http_client=http)) as client:
        yield client


@asynccontextmanager
async def stdio_agent(live: LiveServer, token: str, home: Path) -> AsyncIterator[Client]:
    """An MCP client of ``spell mcp`` run as a subprocess, reaching the live server with ``token``."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(SRC),
        "SPELL_HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "SPELL_SERVER": live.url,
        "SPELL_API_KEY": token,
    }
    params = StdioServerParameters(
        command=sys.executable, args=["-c", "from spell.cli.app import main; main()", "mcp"], env=env
    )
    async with Client(params) as client:
        yield client


@dataclass
class Progress:
    """The progress notifications of one tool call, each message read as its JSON note."""

    notes: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        assert message is not None
        note = json.loads(message)
        assert note["pct"] == progress
        self.notes.append(note)


def data(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a successful tool call."""
    assert not result.is_error, result.content
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


def refusal(result: CallToolResult) -> dict[str, Any]:
    """The catalog error body of a refused tool call."""
    assert result.is_error, result.structured_content
    assert result.structured_content is not None
    error: dict[str, Any] = result.structured_content["error"]
    return error


async def list_detail_estimate_cast_and_read(agent: Client) -> str:
    """The discovery-to-artifact flow of an agent with credit; the cast's id."""
    tools = {tool.name: tool for tool in (await agent.list_tools()).tools}
    assert set(tools) >= {
        "spells_list",
        "spells_detail",
        "spells_estimate",
        "spells_cast",
        "casts_get",
        "casts_cancel",
        "budget_get",
    }
    assert tools["spells_list"].annotations is not None
    assert tools["spells_list"].annotations.read_only_hint is True
    assert tools["spells_cast"].annotations is not None
    assert tools["spells_cast"].annotations.read_only_hint is False
    assert tools["spells_cast"].output_schema is not None

    listed = data(await agent.call_tool("spells_list", {"tag": "files"}))
    assert [spell["id"] for spell in listed["items"]] == ["acme/writer"]
    detail = data(await agent.call_tool("spells_detail", {"spell_id": "acme/writer"}))
    assert detail["input_schema"] == {"type": "string"}
    assert detail["risk"] == "low"
    assert detail["needs_confirm"] is False
    assert detail["pricing"]["amount_micros"] == 250_000
    assert detail["manifest_uri"] == "spell://acme/writer@1.0.0"
    estimate = data(await agent.call_tool("spells_estimate", {"spell_id": "acme/writer", "input": "w:r.txt"}))
    assert estimate["estimate"]["amount_micros"] == 250_000

    progress = Progress()
    cast = data(
        await agent.call_tool(
            "spells_cast", {"spell_id": "acme/writer", "input": "w:report.txt"}, progress_callback=progress
        )
    )
    assert cast["status"] == "succeeded"
    assert cast["done"] is True
    assert cast["idempotency_key"]
    assert {note["cast_id"] for note in progress.notes} == {cast["cast_id"]}
    assert progress.notes[-1]["stage"] == "succeeded"
    assert progress.notes[-1]["pct"] == 100
    assert [n["pct"] for n in progress.notes] == sorted(n["pct"] for n in progress.notes)
    [artifact] = cast["artifacts"]
    assert artifact["uri"] == f"artifact://{cast['cast_id']}/{artifact['name']}", artifact
    assert artifact["name"].endswith("report.txt"), artifact
    read = await agent.read_resource(artifact["uri"])
    [contents] = read.contents
    assert getattr(contents, "text", None) == "x", (artifact, contents)

    again = data(
        await agent.call_tool(
            "spells_cast",
            {"spell_id": "acme/writer", "input": "w:report.txt", "idempotency_key": cast["idempotency_key"]},
        )
    )
    assert again["cast_id"] == cast["cast_id"]
    assert again["idempotent_replay"] is True
    return str(cast["cast_id"])
