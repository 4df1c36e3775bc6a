"""A NATS JetStream queue on a stream of its own, for tests of casts run through the broker."""

from __future__ import annotations

import os
import secrets

import pytest

from spell.queue.nats import NatsQueue
from tests.queue.test_queues import NATS_URL

__all__ = ["nats_queue_or_skip"]


def nats_queue_or_skip() -> tuple[NatsQueue, str]:
    """A queue on a fresh stream and the stream's name (for deleting it); skip (or fail, when services
    are required) without a broker."""
    suffix = secrets.token_hex(4)
    try:
        queue = NatsQueue(
            NATS_URL,
            stream=f"CASTS_{suffix}",
            subject=f"casts{suffix}",
            durable=f"w{suffix}",
            connect_timeout_s=2,
        )
    except Exception as exc:  # no broker here
        if os.environ.get("SPELL_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(f"NATS not reachable at {NATS_URL}: {exc} (SPELL_TEST_REQUIRE_SERVICES=1)")
        pytest.skip(f"NATS not reachable at {NATS_URL}: {exc}")
    return queue, f"CASTS_{suffix}"
