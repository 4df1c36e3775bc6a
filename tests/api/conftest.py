"""Fixtures of the HTTP API tests (shared with tests/platform and tests/storage via tests.server_fixtures)."""

from collections.abc import Iterator

import pytest

from tests.fakes.stripe_server import FakeStripe, running_fake_stripe
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
    "fake_stripe",
    "platform",
    "runtimes",
    "server_settings",
    "wasm_runtime",
]


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    """A fake Stripe API on 127.0.0.1 for one test."""
    yield from running_fake_stripe()
