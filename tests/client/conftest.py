"""Fixtures of the SDK tests: a live server over a SQLite file in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spell.config.server import ServerSettings
from spell.platform.server import Platform
from tests.client.live_server import LiveServer, serving

__all__ = ["database_url", "live"]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A SQLite file: the SDK talks HTTP, the database behind it is tested elsewhere on both engines."""
    return f"sqlite:///{tmp_path / 'platform.db'}"


@pytest.fixture
def live(platform: Platform, server_settings: ServerSettings) -> Iterator[LiveServer]:
    """The real app under uvicorn on a free port."""
    with serving(platform, server_settings) as server:
        yield server
