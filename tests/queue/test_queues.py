"""The memory queue and the NATS JetStream adapter: delivery, de-duplication by job id, stop."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spell.errors import Overloaded
from spell.queue.base import Deferred, Job
from spell.queue.memory import MemoryQueue
from spell.queue.nats import NatsQueue
from tests.fixtures.nats import NATS_URL, delete_stream, nats_queue_or_skip
from tests.queue.private_broker import private_broker


class Collector:
    """Records handled jobs and signals when ``expected`` arrived."""

    def __init__(self, expected: int) -> None:
        self.jobs: list[Job] = []
        self.expected = expected
        self.done = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, job: Job) -> None:
        if job.payload.get("explode"):
            raise RuntimeError("a bad job")
        with self.lock:
            self.jobs.append(job)
            if len(self.jobs) >= self.expected:
                self.done.set()


def test_the_memory_queue_runs_every_job_and_survives_a_failing_one() -> None:
    queue = MemoryQueue()
    collector = Collector(expected=3)
    queue.start(collector, workers=2)
    queue.publish(Job(name="t", id="bad", payload={"explode": True}))
    for index in range(3):
        queue.publish(Job(name="t", id=f"j{index}"))
    assert collector.done.wait(10)
    queue.stop()
    assert sorted(job.id for job in collector.jobs) == ["j0", "j1", "j2"]


def test_the_memory_queue_parks_a_deferred_job_until_it_is_resumed() -> None:
    queue = MemoryQueue()
    resume: list[Any] = []
    parked = threading.Event()
    probed = threading.Event()
    blocked = [True]
    seen: list[str] = []

    def handler(job: Job) -> None:
        if job.id == "probe":
            probed.set()
            return
        if blocked[0]:

            def park(callback: Any) -> bool:
                resume.append(callback)
                parked.set()
                return True

            raise Deferred(park=park)
        seen.append(job.id)

    queue.start(handler, workers=1)
    try:
        queue.publish(Job(name="cast.run", id="j1"))
        assert parked.wait(10)
        for _ in range(3):  # a sweep publishing the parked id again adds no copy
            queue.publish(Job(name="cast.run", id="j1"))
        queue.publish(Job(name="cast.run", id="probe"))  # one worker, in order: behind any copy
        assert probed.wait(10)
        assert len(resume) == 1
        assert seen == []
        blocked[0] = False
        resume[0]()
        queue.publish(Job(name="cast.run", id="j2"))
    finally:
        queue.stop()  # after the jobs already in line
    assert seen == ["j1", "j2"]


def test_the_memory_queue_runs_a_deferred_job_again_when_it_may_run_at_once_or_later() -> None:
    queue = MemoryQueue()
    calls: list[str] = []
    done = threading.Event()

    def handler(job: Job) -> None:
        calls.append(job.id)
        if job.id == "now" and calls.count("now") == 1:
            raise Deferred(park=lambda _resume: False)  # a slot freed meanwhile: back in line
        if job.id == "later" and calls.count("later") == 1:
            raise Deferred(delay_s=0.01)  # no way to park: delivered again after the delay
        if {"now", "later"} <= set(calls) and calls.count("now") == 2 and calls.count("later") == 2:
            done.set()

    queue.start(handler, workers=1)
    try:
        queue.publish(Job(name="cast.run", id="now"))
        queue.publish(Job(name="cast.run", id="later"))
        assert done.wait(10), calls
    finally:
        queue.stop()


def test_the_memory_queue_drops_a_job_whose_id_is_still_waiting_and_takes_it_again_once_taken() -> None:
    queue = MemoryQueue()
    for job_id in ("a", "a", "b", "a"):
        queue.publish(Job(name="t", id=job_id))
    first = Collector(expected=2)
    queue.start(first, workers=1)
    assert first.done.wait(10)
    queue.stop()
    assert [job.id for job in first.jobs] == ["a", "b"]

    queue.publish(Job(name="t", id="a"))  # taken by a worker before: a new delivery
    again = Collector(expected=1)
    queue.start(again, workers=1)
    assert again.done.wait(10)
    queue.stop()
    assert [job.id for job in again.jobs] == ["a"]


@pytest.fixture
def nats_queue() -> Iterator[NatsQueue]:
    queue, stream = nats_queue_or_skip("TEST")
    yield queue
    delete_stream(stream)


def test_nats_delivers_each_job_id_once_even_when_published_twice(nats_queue: NatsQueue) -> None:
    collector = Collector(expected=2)
    nats_queue.publish(Job(name="cast.run", id="cast_1", payload={"cast_id": "cast_1"}))
    nats_queue.publish(Job(name="cast.run", id="cast_1", payload={"cast_id": "cast_1"}))  # deduplicated
    nats_queue.publish(Job(name="cast.run", id="cast_2", payload={"cast_id": "cast_2"}))
    nats_queue.start(collector, workers=2)
    assert collector.done.wait(10)
    nats_queue.stop()
    assert sorted(job.id for job in collector.jobs) == ["cast_1", "cast_2"]
    assert collector.jobs[0].payload["cast_id"] in {"cast_1", "cast_2"}


def test_nats_redelivers_a_job_whose_handler_failed(nats_queue: NatsQueue) -> None:
    attempts: list[str] = []
    done = threading.Event()

    def flaky(job: Job) -> None:
        attempts.append(job.id)
        if len(attempts) == 1:
            raise RuntimeError("worker crashed")
        done.set()

    nats_queue.start(flaky, workers=1)
    nats_queue.publish(Job(name="cast.run", id="cast_x"))
    assert done.wait(20)
    nats_queue.stop()
    assert attempts == ["cast_x", "cast_x"]


def test_nats_hands_a_deferred_job_back_and_runs_the_next_one_meanwhile(nats_queue: NatsQueue) -> None:
    attempts: list[str] = []
    done = threading.Event()

    def busy_tenant(job: Job) -> None:
        attempts.append(job.id)
        if attempts == ["cast_a"]:
            raise Deferred(delay_s=0.5)  # its tenant holds all its slots: not now
        if attempts.count("cast_a") == 2:
            done.set()

    nats_queue.publish(Job(name="cast.run", id="cast_a"))
    nats_queue.publish(Job(name="cast.run", id="cast_b"))
    nats_queue.start(busy_tenant, workers=1)
    assert done.wait(20)
    nats_queue.stop()
    assert attempts == ["cast_a", "cast_b", "cast_a"]


def test_nats_a_job_published_after_idle_workers_stopped_goes_to_the_next_workers(
    nats_queue: NatsQueue,
) -> None:
    # idle workers leave a pull request waiting at the consumer; once stopped it must not take jobs
    nats_queue.start(Collector(expected=1), workers=2)
    nats_queue.stop()
    again = NatsQueue(
        NATS_URL, stream=nats_queue.stream, subject=nats_queue.subject, durable=nats_queue.durable
    )
    collector = Collector(expected=1)
    again.publish(Job(name="cast.run", id="cast_late"))
    again.start(collector, workers=1)
    assert collector.done.wait(20)
    again.stop()
    assert [job.id for job in collector.jobs] == ["cast_late"]


def test_an_unreachable_broker_is_overloaded() -> None:
    with pytest.raises(Overloaded):
        NatsQueue("nats://127.0.0.1:9", connect_timeout_s=0.5)


def test_nats_marks_a_job_redelivered_after_its_first_delivery_failed(nats_queue: NatsQueue) -> None:
    seen: list[bool] = []
    done = threading.Event()

    def flaky(job: Job) -> None:
        seen.append(job.redelivered)
        if len(seen) == 1:
            raise RuntimeError("worker crashed")
        done.set()

    nats_queue.start(flaky, workers=1)
    nats_queue.publish(Job(name="cast.run", id="cast_r"))
    assert done.wait(20)
    nats_queue.stop()
    assert seen == [False, True]


def _queue_like(queue: NatsQueue, **options: Any) -> NatsQueue:
    """Another process's queue on the same stream and consumer."""
    return NatsQueue(NATS_URL, stream=queue.stream, subject=queue.subject, durable=queue.durable, **options)


def test_nats_a_job_running_longer_than_the_ack_wait_keeps_its_worker() -> None:
    queue, stream = nats_queue_or_skip("BEAT")
    queue.ack_wait_s = 1.0
    calls: list[Job] = []
    finished = threading.Event()

    def long_job(job: Job) -> None:
        calls.append(job)
        if len(calls) == 1:
            threading.Event().wait(3.5)  # three and a half ack waits: only in-progress acks keep it
            finished.set()

    try:
        queue.start(long_job, workers=2)  # an idle worker would take a redelivery at once
        queue.publish(Job(name="cast.run", id="cast_long"))
        assert finished.wait(20)
        queue.stop()
    finally:
        delete_stream(stream)
    assert [(job.id, job.redelivered) for job in calls] == [("cast_long", False)]


KILLED_WORKER = """
import sys, threading
from spell.queue.nats import NatsQueue

queue = NatsQueue(sys.argv[1], stream=sys.argv[2], subject=sys.argv[3], durable=sys.argv[4], ack_wait_s=1.0)

def hang(job):
    print("took", job.id, flush=True)
    threading.Event().wait()

queue.start(hang, workers=1)
print("ready", flush=True)
threading.Event().wait()
"""


def test_nats_the_job_of_a_killed_worker_goes_to_another_within_seconds() -> None:
    queue, stream = nats_queue_or_skip("KILL")
    queue.ack_wait_s = 1.0
    taken: list[Job] = []
    again = threading.Event()

    def survivor(job: Job) -> None:
        taken.append(job)
        again.set()

    argv = [sys.executable, "-c", KILLED_WORKER, NATS_URL, stream, queue.subject, queue.durable]
    try:
        with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as doomed:
            assert doomed.stdout is not None
            try:
                assert doomed.stdout.readline().strip() == "ready"
                queue.publish(Job(name="cast.run", id="cast_k"))
                assert doomed.stdout.readline().strip() == "took cast_k"
                queue.start(survivor, workers=1)
                doomed.kill()
                killed_at = time.monotonic()
                assert again.wait(20)
                waited = time.monotonic() - killed_at
            finally:
                doomed.kill()
        queue.stop()
    finally:
        delete_stream(stream)
    assert [(job.id, job.redelivered) for job in taken] == [("cast_k", True)]
    assert waited < 5  # the ack wait (1 s) and a little, not the old ten minutes


def test_nats_stop_hands_back_a_job_still_running_after_the_grace() -> None:
    queue, stream = nats_queue_or_skip("GRACE")
    queue.stop_grace_s = 0.2
    release = threading.Event()
    started = threading.Event()

    def stuck(job: Job) -> None:
        started.set()
        release.wait(30)

    successor = _queue_like(queue, ack_wait_s=30.0)
    taken: list[Job] = []
    done = threading.Event()

    def take(job: Job) -> None:
        taken.append(job)
        done.set()

    try:
        queue.start(stuck, workers=1)
        queue.publish(Job(name="cast.run", id="cast_g"))
        assert started.wait(20)
        queue.stop()
        assert queue.unfinished == 1
        successor.start(take, workers=1)
        assert done.wait(10)  # handed back: at once, not after the (30 s) ack wait
        successor.stop()
    finally:
        release.set()
        delete_stream(stream)
    assert [(job.id, job.redelivered) for job in taken] == [("cast_g", True)]


def test_nats_an_existing_consumer_takes_the_new_ack_wait_and_keeps_its_pending_jobs() -> None:
    queue, stream = nats_queue_or_skip("CONSUMER")
    queue.ack_wait_s = 600.0
    try:
        queue.start(Collector(expected=1), workers=1)
        queue.stop()
        older = _queue_like(queue)
        older.publish(Job(name="cast.run", id="cast_c"))
        newer = _queue_like(queue, ack_wait_s=2.0)
        collector = Collector(expected=1)
        newer.start(collector, workers=1)
        assert collector.done.wait(20)
        config = _consumer_config(newer)
        newer.stop()
        older.stop()
    finally:
        delete_stream(stream)
    assert config.ack_wait == 2.0
    assert config.max_ack_pending is not None
    assert config.max_ack_pending >= 1024
    assert [job.id for job in collector.jobs] == ["cast_c"]


def _consumer_config(queue: NatsQueue) -> Any:
    async def read() -> Any:
        return (await queue._js.consumer_info(queue.stream, queue.durable)).config

    return queue._call(read())


def test_nats_stop_after_the_broker_went_away_still_returns(tmp_path: Path) -> None:
    with private_broker(tmp_path) as broker:
        queue = NatsQueue(broker.url, connect_timeout_s=2)
        queue.start(Collector(expected=1), workers=2)
        broker.process.kill()
        assert queue.disconnected.wait(10)
        with pytest.raises(Overloaded):  # a request queuing a cast fails with 503, not 500
            queue.publish(Job(name="cast.run", id="cast_late"))
        queue.stop()
        assert queue.unfinished == 0


def test_nats_runs_as_many_jobs_at_once_as_it_has_workers(nats_queue: NatsQueue) -> None:
    workers = (os.cpu_count() or 1) + 6  # more than asyncio's default thread pool holds
    together = threading.Barrier(workers, timeout=15)
    met: list[str] = []

    def meet(job: Job) -> None:
        together.wait()  # breaks (and the job fails) unless every job runs at the same time
        met.append(job.id)

    nats_queue.start(meet, workers=workers)
    for index in range(workers):
        nats_queue.publish(Job(name="cast.run", id=f"cast_{index}"))
    all_met = threading.Event()
    deadline = time.monotonic() + 20
    while len(met) < workers and time.monotonic() < deadline:
        all_met.wait(0.05)  # the handlers append from the broker's threads
    nats_queue.stop()
    assert len(met) == workers
