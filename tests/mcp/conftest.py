"""Fixtures of the MCP tests: the SDK tests' live server (a SQLite file), with spells published."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.money_helpers import credit
from tests.client.live_server import LiveServer
from tests.fixtures.live import database_backend, live
from tests.fixtures.server import Caller, seed_user
from tests.mcp.agents import publish_spells

__all__ = ["database_backend", "live"]


@pytest.fixture
def funded_caster(live: LiveServer, tmp_path: Path) -> Caller:
    """The test spells published, and a caster with 1 USD of credit."""
    publish_spells(live, tmp_path / "spells")
    caster = seed_user(live.platform, "agent@example.com", ["caster"])
    credit(live.platform, caster.user_id, 1_000_000)
    return caster
