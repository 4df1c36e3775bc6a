"""Queued casts on NATS JetStream followed by a long poll: the wait skips its read while a worker of
this process holds the cast's job, reads when none does, and a broker that refuses the job answers 503
whichever thread created the cast."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.errors import Overloaded
from spell.models import Cast
from spell.platform.cast import runner as runner_module
from spell.platform.server import Platform
from spell.queue.base import Job
from spell.runtimes.base import Runtime
from spell.storage.session import Database
from tests.fixtures.nats import NATS_URL, delete_stream, nats_queue_or_skip
from tests.fixtures.server import Caller, seed_caster

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _nats_platform(
    settings: ServerSettings, database: Database, runtime: Runtime, *, workers: bool = True
) -> AsyncIterator[tuple[Platform, httpx.AsyncClient]]:
    queue, stream = nats_queue_or_skip()
    settings = dataclasses.replace(settings, queue_url=NATS_URL, run_workers=workers)
    platform = Platform.build(settings, runtimes={"wasm": runtime}, database=database, queue=queue)
    platform.start()
    try:
        app = create_app(settings, platform=platform, manage=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://spell.test") as client:
            yield platform, client
    finally:
        platform.stop()
        await anyio.to_thread.run_sync(delete_stream, stream)  # it runs an event loop of its own


async def _queue_one(client: httpx.AsyncClient, caster: Caller, key: str) -> str:
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": key},
        json={"input": {"name": key}},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _counted_reads(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    get, reads = platform.casts.get, list[str]()

    def counted_get(principal: Any, cast_id: str) -> Cast:
        reads.append(cast_id)
        return get(principal, cast_id)

    monkeypatch.setattr(platform.casts, "get", counted_get)
    return reads


async def test_a_long_poll_of_a_cast_whose_job_a_worker_here_holds_waits_for_its_end_without_reading(
    server_settings: ServerSettings,
    database: Database,
    wasm_runtime: Runtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The end must come within the long poll's 1 s re-read interval once released, or it reads:
    # the module is loaded first, and a busy machine's quick attempt does not overrun and run again.
    monkeypatch.setattr(runner_module, "QUICK_BUDGET_S", 2.0)
    monkeypatch.setattr(runner_module, "QUICK_THREAD_BUDGET_S", 2.0)
    async with _nats_platform(server_settings, database, wasm_runtime) as (platform, client):
        caster = await seed_caster(client, platform, tmp_path)
        warm = await client.post(
            "/v1/spells/acme/hello/cast",
            headers={**caster.headers, "Idempotency-Key": "warm-up", "Prefer": "wait=20"},
            json={"input": {"name": "w"}},
        )
        assert warm.json()["status"] == "succeeded", warm.text
        handle, held, go = platform.runner._handle, threading.Event(), threading.Event()

        def held_handle(cast_id: str, job: Job) -> None:
            held.set()
            assert go.wait(10)  # until the long poll waits
            handle(cast_id, job)

        monkeypatch.setattr(platform.runner, "_handle", held_handle)
        reads = _counted_reads(platform, monkeypatch)
        cast_id = await _queue_one(client, caster, "held-here")
        assert await anyio.to_thread.run_sync(held.wait, 10)
        answers: list[httpx.Response] = []

        async def long_poll() -> None:
            answers.append(
                await client.get(f"/v1/casts/{cast_id}", params={"wait": 10}, headers=caster.headers)
            )

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(long_poll)
            while not platform.casts.hub.waiting():
                await anyio.sleep(0.005)
            go.set()
        [answer] = answers
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "succeeded", answer.text
        assert answer.json()["output"] == {"greeting": "hello", "input": {"name": "held-here"}}
        assert reads == []  # the end came with the wake-up


async def test_a_long_poll_of_a_cast_whose_job_no_worker_here_holds_reads_it(
    server_settings: ServerSettings,
    database: Database,
    wasm_runtime: Runtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # an API node: `spell worker` processes run its queued casts
    async with _nats_platform(server_settings, database, wasm_runtime, workers=False) as (platform, client):
        caster = await seed_caster(client, platform, tmp_path)
        reads = _counted_reads(platform, monkeypatch)
        cast_id = await _queue_one(client, caster, "held-elsewhere")
        answer = await client.get(f"/v1/casts/{cast_id}", params={"wait": 1}, headers=caster.headers)
        assert answer.json()["status"] == "queued", answer.text
        assert reads[:1] == [cast_id]  # its end might be told elsewhere: read before waiting


def _refused(job: Job) -> Future[None]:
    refusal: Future[None] = Future()
    refusal.set_exception(Overloaded("the NATS broker did not answer", retry_after=5))
    return refusal


def _refuse(job: Job) -> None:
    raise Overloaded("the NATS broker did not answer", retry_after=5)


async def test_a_job_the_broker_refuses_answers_503_and_the_cast_stays_queued_for_the_sweep(
    server_settings: ServerSettings,
    database: Database,
    wasm_runtime: Runtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with _nats_platform(server_settings, database, wasm_runtime) as (platform, client):
        caster = await seed_caster(client, platform, tmp_path)
        # created on the event loop (SQLite), the job's ack is awaited there; else a thread waits
        monkeypatch.setattr(platform.queue, "submit", _refused)
        monkeypatch.setattr(platform.queue, "publish", _refuse)
        response = await client.post(
            "/v1/spells/acme/hello/cast",
            headers={**caster.headers, "Idempotency-Key": "refused"},
            json={"input": {"name": "r"}},
        )
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "OVERLOADED"
        assert response.headers["Retry-After"] == "5"
        with platform.db.unit_of_work(write=False) as uow:
            statuses = [cast.status for cast in uow.session.query(Cast).all()]
        assert statuses == ["queued"]  # committed: the sweep publishes it again
