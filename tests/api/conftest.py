"""Fixtures of the HTTP API tests (shared with tests/platform and tests/storage via tests.server_fixtures)."""

from tests.server_fixtures import (
    anyio_backend,
    client,
    database,
    database_url,
    platform,
    runtimes,
    server_settings,
    wasm_runtime,
)

__all__ = [
    "anyio_backend",
    "client",
    "database",
    "database_url",
    "platform",
    "runtimes",
    "server_settings",
    "wasm_runtime",
]
