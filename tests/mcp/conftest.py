"""Fixtures of the MCP tests: the SDK tests' live server (a SQLite file), with spells published."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.money_helpers import credit
from tests.client.conftest import database_url, live
from tests.client.live_server import LiveServer
from tests.mcp.agents import publish_spells
from tests.server_fixtures import (
    Caller,
    anyio_backend,
    database,
    platform,
    runtimes,
    seed_user,
    server_settings,
    wasm_runtime,
)

__all__ = [
    "anyio_backend",
    "database",
    "database_url",
    "live",
    "platform",
    "runtimes",
    "server_settings",
    "wasm_runtime",
]


@pytest.fixture
def funded_caster(live: LiveServer, tmp_path: Path) -> Caller:
    """The test spells published, and a caster with 1 USD of credit."""
    publish_spells(live, tmp_path / "spells")
    caster = seed_user(live.platform, "agent@example.com", ["caster"])
    credit(live.platform, caster.user_id, 1_000_000)
    return caster
