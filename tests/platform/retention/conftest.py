"""Fixtures of the retention tests: a platform on a fake clock, built but not started."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from spell.config.server import ServerSettings
from spell.kit.clock import FakeClock
from spell.platform.server import Platform
from spell.storage.session import Database
from tests.platform.retention.helpers import build

__all__ = ["clock", "platform"]


@pytest.fixture
def clock() -> FakeClock:
    """Starts ten years ago, so records can be made long before ``now``."""
    return FakeClock(datetime(2016, 1, 1, tzinfo=UTC))


@pytest.fixture
def platform(server_settings: ServerSettings, database: Database, clock: FakeClock) -> Iterator[Platform]:
    """The platform whose retention the test runs (the default periods, batches of two)."""
    built = build(server_settings, database, clock)
    yield built
    built.stop()
