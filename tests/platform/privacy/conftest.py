"""Fixtures of the privacy tests: the server fixtures on a fake clock, and a platform whose workers
never start (its casts stay queued, or running when created claimed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.kit.clock import FakeClock
from spell.platform.server import Platform
from spell.runtimes.base import Runtime
from spell.storage.session import Database
from tests.fixtures.clock import clock, platform

__all__ = ["clock", "idle_client", "idle_platform", "platform"]


@pytest.fixture
def idle_platform(
    server_settings: ServerSettings, database: Database, runtimes: dict[str, Runtime], clock: FakeClock
) -> Iterator[Platform]:
    """A platform that is never started: nothing runs the casts it queues."""
    built = Platform.build(server_settings, runtimes=runtimes, database=database, clock=clock)
    yield built
    built.stop()


@pytest.fixture
async def idle_client(
    idle_platform: Platform, server_settings: ServerSettings
) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP on the real app over ``idle_platform``."""
    app = create_app(server_settings, platform=idle_platform, manage=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://spell.test"
    ) as http:
        yield http
