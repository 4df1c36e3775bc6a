"""NATS JetStream queues on streams of their own, for the queue tests and tests of casts run through
the broker."""

from __future__ import annotations

import asyncio
import os
import secrets

import pytest

from spell.queue.nats import NatsQueue

__all__ = ["NATS_URL", "delete_stream", "nats_queue_or_skip"]

NATS_URL = os.environ.get("SPELL_TEST_NATS_URL", "nats://127.0.0.1:4222")


def nats_queue_or_skip(prefix: str = "CASTS") -> tuple[NatsQueue, str]:
    """A queue on a fresh stream and the stream's name (for ``delete_stream``); skip (or fail, when
    services are required) without a broker."""
    suffix = secrets.token_hex(4)
    stream = f"{prefix}_{suffix}"
    try:
        queue = NatsQueue(
            NATS_URL,
            stream=stream,
            subject=f"{prefix.lower()}{suffix}",
            durable=f"w{suffix}",
            connect_timeout_s=2,
        )
    except Exception as exc:  # no broker here
        if os.environ.get("SPELL_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(f"NATS not reachable at {NATS_URL}: {exc} (SPELL_TEST_REQUIRE_SERVICES=1)")
        pytest.skip(f"NATS not reachable at {NATS_URL}: {exc}")
    return queue, stream


def delete_stream(name: str) -> None:
    """Drop a test's stream from the broker."""

    async def run() -> None:
        import nats

        connection = await nats.connect(NATS_URL)
        await connection.jetstream().delete_stream(name)
        await connection.close()

    asyncio.run(run())
