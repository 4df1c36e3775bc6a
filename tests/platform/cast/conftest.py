"""Fixtures of the cast domain's tests: the server fixtures, on a fake clock."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from spell.config.server import ServerSettings
from spell.kit.clock import FakeClock
from spell.platform.server import Platform
from spell.runtimes.base import Runtime
from spell.storage.session import Database
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


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock, moved only by the test."""
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def platform(
    server_settings: ServerSettings, database: Database, runtimes: dict[str, Runtime], clock: FakeClock
) -> Iterator[Platform]:
    """A started platform on the fake clock."""
    built = Platform.build(server_settings, runtimes=runtimes, database=database, clock=clock)
    built.start()
    yield built
    built.stop()
