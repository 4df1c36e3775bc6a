"""Fixtures of the supply domain's tests: the server fixtures on a fake clock, webhooks allowed to a
local receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spell.config.server import ServerSettings
from tests.fakes.webhook_receiver import Receiver
from tests.fixtures.clock import clock, platform

__all__ = ["clock", "platform", "receiver", "server_settings"]


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    """A test server whose webhooks may reach the local receiver."""
    return ServerSettings.for_home(
        tmp_path / "home",
        database_url=database_url,
        secret_key="supply-secret",
        workers=2,
        allow_private_webhooks=True,
        rate_limit_per_minute=100_000,
        tenant_rate_limit_per_minute=100_000,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A maker's webhook endpoint on 127.0.0.1."""
    served = Receiver()
    yield served
    served.close()
