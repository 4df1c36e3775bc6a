"""Fixtures of the MCP tests: the SDK tests' live server (a SQLite file), with spells published."""

from __future__ import annotations

from tests.client.conftest import database_url, live
from tests.server_fixtures import anyio_backend, database, platform, runtimes, server_settings, wasm_runtime

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
