"""A platform on a fake clock: import ``clock`` and ``platform`` into a test module (or conftest) to run
its casts on time that moves only when the test advances it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from spell.config.server import ServerSettings
from spell.kit.clock import FakeClock
from spell.platform.server import Platform
from spell.runtimes.base import Runtime
from spell.storage.session import Database

__all__ = ["clock", "platform"]


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock, moved only by the test."""
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def platform(
    server_settings: ServerSettings, database: Database, runtimes: dict[str, Runtime], clock: FakeClock
) -> Iterator[Platform]:
    """A started platform (worker pool running) on the fake clock."""
    built = Platform.build(server_settings, runtimes=runtimes, database=database, clock=clock)
    built.start()
    yield built
    built.stop()
