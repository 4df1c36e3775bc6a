"""An API node's queue rides out a NATS restart: publishes during the outage are 503 ``OVERLOADED``,
later ones go through on the same queue, and nothing published before is lost. A consuming queue
(a worker's) instead reports the loss, for its process to exit and be started again."""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

import pytest

from spell.errors import Overloaded
from spell.queue.base import Job
from spell.queue.nats import NatsQueue
from tests.cluster.processes import Broker


def _queue(broker: Broker, name: str, **options: object) -> NatsQueue:
    return NatsQueue.for_deployment(broker.url, name, connect_timeout_s=2, **options)


def test_a_publishing_queue_reconnects_after_a_broker_restart(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "nats")
    broker.start()
    name = "rc" + secrets.token_hex(4)
    publisher = _queue(broker, name, reconnect=True)
    watcher = _queue(broker, name)
    try:
        publisher.publish(Job(name="cast.run", id="before"))
        broker.stop()
        with pytest.raises(Overloaded) as refused:
            publisher.publish(Job(name="cast.run", id="during"))
        assert refused.value.retry_after == 5
        assert watcher.disconnected.wait(10), "a queue without reconnect reports the loss"
        assert not publisher.disconnected.is_set()
        broker.start()
        deadline = time.monotonic() + 15
        while True:
            try:
                publisher.publish(Job(name="cast.run", id="after"))
                break
            except Overloaded:
                assert time.monotonic() < deadline, "the publisher never reconnected"
                time.sleep(0.2)  # the client's reconnect runs on its own loop
        consumer = _queue(broker, name)
        seen: list[str] = []
        done = threading.Event()

        def handle(job: Job) -> None:
            seen.append(job.id)
            if {"after", "before"} <= set(seen):
                done.set()

        consumer.start(handle, workers=1)
        assert done.wait(20), seen
        consumer.stop()
        # A refused publish may still reach the stream (the client flushes its buffer on reconnect):
        # jobs are at-least-once, and a cast's claim turns a duplicate away.
        assert {"before", "after"} <= set(seen) <= {"before", "during", "after"}
    finally:
        publisher.stop()
        watcher.stop()
        broker.stop()
