"""Fixtures of the cast domain's tests: the server fixtures, on a fake clock."""

from tests.clock_fixtures import clock, platform
from tests.server_fixtures import (
    anyio_backend,
    client,
    database,
    database_url,
    runtimes,
    server_settings,
    wasm_runtime,
)

__all__ = [
    "anyio_backend",
    "client",
    "clock",
    "database",
    "database_url",
    "platform",
    "runtimes",
    "server_settings",
    "wasm_runtime",
]
