"""No cast is stranded: hostile output and platform faults end the cast (failed, free) on every
execution path, and the sweep of the single-process default ends what a dead runner left behind."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import select, update

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.kit.time import utcnow
from spell.models import Cast, CastEvent
from spell.platform.cast.recovery import ORPHAN_GRACE_S
from spell.platform.server import Platform
from spell.queue.base import Job
from spell.runtimes.base import MAX_OUTPUT_DEPTH, CastRequest, CastResult, Runtime
from spell.storage.session import Database
from tests.api.money_helpers import FLAT, credit, hold_and_balance, publish_priced
from tests.fixtures.bundles import nested_json_wat
from tests.fixtures.nats import NATS_URL, delete_stream, nats_queue_or_skip
from tests.fixtures.server import Caller, seed_maker, seed_user

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _client_of(
    platform: Platform, settings: ServerSettings, *, raise_app_exceptions: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, platform=platform, manage=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    async with httpx.AsyncClient(transport=transport, base_url="http://spell.test") as http:
        yield http


FULL = 1_000_000
PRICE = 250_000


class Faulty:
    """The real WASM runtime, raising an unexpected exception while ``broken`` is set."""

    def __init__(self, inner: Runtime) -> None:
        self.inner = inner
        self.broken = threading.Event()

    def run(self, request: CastRequest) -> CastResult:
        if self.broken.is_set():
            raise RuntimeError("a bug on the platform's side")
        return self.inner.run(request)


@pytest.fixture
def runtimes(wasm_runtime: Runtime) -> dict[str, Runtime]:
    """The WASM runtime behind a switch that makes it fail."""
    return {"wasm": Faulty(wasm_runtime)}


def _faulty(platform: Platform) -> Faulty:
    runtime = platform.runner.runtimes["wasm"]
    assert isinstance(runtime, Faulty)
    return runtime


async def _paid_caster(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, wat: str | None = None, *, full: int = FULL
) -> Caller:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT, wat=wat)
    caster = seed_user(platform, "caster@example.com", ["caster"])
    credit(platform, caster.user_id, full)
    return caster


async def _cast(client: httpx.AsyncClient, caster: Caller, key: str, *, wait: bool) -> dict[str, Any]:
    headers = {**caster.headers, "Idempotency-Key": key, **({"Prefer": "wait=20"} if wait else {})}
    response = await client.post("/v1/spells/acme/paid/cast", headers=headers, json={"input": {"name": "x"}})
    assert response.status_code == (200 if wait else 202), response.text
    body: dict[str, Any] = response.json()
    if wait:
        return body
    done = await client.get(f"/v1/casts/{body['id']}?wait=20", headers=caster.headers)
    assert done.status_code == 200, done.text
    ended: dict[str, Any] = done.json()
    return ended


def _events(platform: Platform, cast_id: str) -> list[str]:
    with platform.db.unit_of_work(write=False) as uow:
        rows = uow.session.scalars(
            select(CastEvent.type).where(CastEvent.cast_id == cast_id).order_by(CastEvent.seq)
        )
        return list(rows)


def _assert_failed_free(
    platform: Platform, caster: Caller, cast: dict[str, Any], code: str, *, balance: int = FULL
) -> None:
    assert cast["status"] == "failed", cast
    assert cast["error"]["code"] == code
    assert hold_and_balance(platform, cast["id"], caster.user_id) == ("released", balance)
    assert _events(platform, cast["id"])[-1] == "failed"


def _spy_quick(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Ids of the casts the quick path (run in the creating or claiming transaction) ran."""
    attempted: list[str] = []
    original = platform.runner.attempt

    def spy(uow: Any, cast: Cast, version: Any, **kwargs: Any) -> Cast | None:
        attempted.append(cast.id)
        return original(uow, cast, version, **kwargs)

    monkeypatch.setattr(platform.runner, "attempt", spy)
    return attempted


def _is_sqlite(platform: Platform) -> bool:
    return platform.db.engine.dialect.name == "sqlite"


# -- hostile output -------------------------------------------------------------------------------


async def test_output_nested_100000_deep_fails_the_waited_cast_with_output_invalid_and_costs_nothing(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster = await _paid_caster(client, platform, tmp_path, wat=nested_json_wat(100_000))
    quick = _spy_quick(platform, monkeypatch)
    first = await _cast(client, caster, "deep-1", wait=True)
    _assert_failed_free(platform, caster, first, "OUTPUT_INVALID")
    assert first["output"] is None
    # The spell ran here once: on SQLite the next waited cast takes the quick path, ending the same way.
    second = await _cast(client, caster, "deep-2", wait=True)
    _assert_failed_free(platform, caster, second, "OUTPUT_INVALID")
    assert quick == ([second["id"]] if _is_sqlite(platform) else [])


async def test_output_nested_100000_deep_fails_the_queued_cast_with_output_invalid_and_costs_nothing(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _paid_caster(client, platform, tmp_path, wat=nested_json_wat(100_000))
    ended = await _cast(client, caster, "deep-q", wait=False)
    _assert_failed_free(platform, caster, ended, "OUTPUT_INVALID")
    events = (await client.get(f"/v1/casts/{ended['id']}/events", headers=caster.headers)).text
    assert "event: failed" in events


async def test_output_nested_as_deep_as_allowed_is_stored_and_answered_on_every_path(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster = await _paid_caster(client, platform, tmp_path, wat=nested_json_wat(MAX_OUTPUT_DEPTH))
    quick = _spy_quick(platform, monkeypatch)
    casts = [
        await _cast(client, caster, "ok-1", wait=True),
        await _cast(client, caster, "ok-2", wait=True),
        await _cast(client, caster, "ok-q", wait=False),
    ]
    expected: Any = []
    for _ in range(MAX_OUTPUT_DEPTH - 1):
        expected = [expected]
    for cast in casts:
        assert cast["status"] == "succeeded", cast
        assert cast["output"] == expected
    assert hold_and_balance(platform, casts[-1]["id"], caster.user_id) == ("captured", FULL - 3 * PRICE)
    # on SQLite the second waited cast, and the queued one as its worker claimed it, took the quick path
    assert quick == ([casts[1]["id"], casts[2]["id"]] if _is_sqlite(platform) else [])


# -- faults on the platform's side ----------------------------------------------------------------


async def test_a_fault_of_the_runtime_ends_a_queued_cast_failed_and_free(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _paid_caster(client, platform, tmp_path)
    _faulty(platform).broken.set()
    ended = await _cast(client, caster, "fault-q", wait=False)
    _assert_failed_free(platform, caster, ended, "INTERNAL")


async def test_a_fault_of_the_runtime_ends_a_waited_cast_failed_and_free(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _paid_caster(client, platform, tmp_path)
    _faulty(platform).broken.set()
    ended = await _cast(client, caster, "fault-w", wait=True)
    _assert_failed_free(platform, caster, ended, "INTERNAL")


async def test_a_fault_of_the_runtime_ends_a_quick_cast_failed_and_free(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not _is_sqlite(platform):
        pytest.skip("priced casts are tried quickly on SQLite only (PostgreSQL keeps hold and capture apart)")
    caster = await _paid_caster(client, platform, tmp_path)
    warm = await _cast(client, caster, "warm", wait=True)
    assert warm["status"] == "succeeded"
    quick = _spy_quick(platform, monkeypatch)
    _faulty(platform).broken.set()
    ended = await _cast(client, caster, "fault-quick", wait=True)
    assert quick == [ended["id"]]
    _assert_failed_free(platform, caster, ended, "INTERNAL", balance=FULL - PRICE)


async def test_a_fault_while_recording_the_end_ends_the_cast_failed_and_free(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster = await _paid_caster(client, platform, tmp_path)

    def store(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the blob store fell over")

    monkeypatch.setattr(platform.runner.artifacts, "store", store)
    queued = await _cast(client, caster, "rec-q", wait=False)
    _assert_failed_free(platform, caster, queued, "INTERNAL")
    waited = await _cast(client, caster, "rec-w", wait=True)
    _assert_failed_free(platform, caster, waited, "INTERNAL")


async def test_a_fault_while_recording_a_quick_cast_rolls_it_back_and_the_rerun_ends_it_failed_and_free(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not _is_sqlite(platform):
        pytest.skip("priced casts are tried quickly on SQLite only (PostgreSQL keeps hold and capture apart)")
    caster = await _paid_caster(client, platform, tmp_path)
    assert (await _cast(client, caster, "warm", wait=True))["status"] == "succeeded"
    quick = _spy_quick(platform, monkeypatch)

    def store(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the blob store fell over")

    monkeypatch.setattr(platform.runner.artifacts, "store", store)
    ended = await _cast(client, caster, "rec-quick", wait=True)
    assert len(quick) == 1
    with platform.db.unit_of_work(write=False) as uow:  # the attempt's cast was never committed
        assert uow.session.get(Cast, quick[0]) is None
    assert ended["id"] != quick[0]
    _assert_failed_free(platform, caster, ended, "INTERNAL", balance=FULL - PRICE)


async def test_a_fault_of_the_runtime_ends_a_cast_run_by_a_nats_worker_failed_and_free(
    server_settings: ServerSettings, database: Database, wasm_runtime: Runtime, tmp_path: Path
) -> None:
    queue, stream = nats_queue_or_skip()
    faulty = Faulty(wasm_runtime)
    platform = Platform.build(server_settings, runtimes={"wasm": faulty}, database=database, queue=queue)
    platform.start()
    try:
        async with _client_of(platform, server_settings) as client:
            caster = await _paid_caster(client, platform, tmp_path)
            faulty.broken.set()
            queued = await _cast(client, caster, "nats-q", wait=False)
            waited = await _cast(client, caster, "nats-w", wait=True)
        _assert_failed_free(platform, caster, queued, "INTERNAL")
        _assert_failed_free(platform, caster, waited, "INTERNAL")
    finally:
        platform.stop()
        await anyio.to_thread.run_sync(delete_stream, stream)  # it runs an event loop of its own


# -- the sweep -------------------------------------------------------------------------------------


def _age(platform: Platform, cast_id: str, **values: Any) -> None:
    with platform.db.unit_of_work() as uow:
        uow.session.execute(update(Cast).where(Cast.id == cast_id).values(**values))


async def _lost_casts(
    client: httpx.AsyncClient, platform: Platform, caster: Caller, keys: list[str]
) -> list[str]:
    """Casts whose job never reached the queue (as when its process died right after the commit)."""
    published = platform.queue.publish
    platform.queue.publish = lambda job: None  # type: ignore[method-assign]
    # a queue whose ack the event loop awaits is handed the job without waiting (``submit``)
    submitted = getattr(platform.queue, "submit", None)
    if submitted is not None:
        platform.queue.submit = _taken  # type: ignore[attr-defined]
    try:
        ids = []
        for key in keys:
            headers = {**caster.headers, "Idempotency-Key": key}
            response = await client.post(
                "/v1/spells/acme/paid/cast", headers=headers, json={"input": {"name": key}}
            )
            assert response.status_code == 202, response.text
            ids.append(str(response.json()["id"]))
        return ids
    finally:
        platform.queue.publish = published  # type: ignore[method-assign]
        if submitted is not None:
            platform.queue.submit = submitted  # type: ignore[attr-defined]


def _taken(job: Job) -> Future[None]:
    """An ack for a job that never reaches the broker."""
    acked: Future[None] = Future()
    acked.set_result(None)
    return acked


async def test_the_sweep_ends_a_cast_a_dead_runner_left_and_requeues_a_stale_queued_one(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    full = 2 * FULL
    caster = await _paid_caster(client, platform, tmp_path, full=full)
    dead, alive, young, stale, fresh = await _lost_casts(
        client, platform, caster, ["dead", "alive", "young", "stale", "fresh"]
    )
    long_ago = utcnow() - timedelta(hours=1)
    for cast_id in (dead, alive):  # claimed, then the runner was lost (or, for "alive", still runs here)
        _age(platform, cast_id, status="running", started_at=long_ago)
    _age(platform, young, status="running", started_at=utcnow() - timedelta(seconds=1))
    _age(platform, stale, created_at=utcnow() - timedelta(seconds=ORPHAN_GRACE_S + 30))
    assert hold_and_balance(platform, dead, caster.user_id) == ("held", full - 5 * PRICE)

    platform.casts.cancels.open(alive)  # running in this process: legitimately, however long
    try:
        platform.sweep()
    finally:
        platform.casts.cancels.close(alive)

    after = await client.get(f"/v1/casts/{stale}?wait=20", headers=caster.headers)
    assert after.json()["status"] == "succeeded"
    statuses = {cast_id: platform.casts.get_status(cast_id) for cast_id in (dead, alive, young, fresh)}
    assert statuses == {dead: "aborted", alive: "running", young: "running", fresh: "queued"}
    assert _events(platform, dead)[-1] == "aborted"
    assert hold_and_balance(platform, dead, caster.user_id) == ("released", full - 4 * PRICE)
    assert hold_and_balance(platform, stale, caster.user_id)[0] == "captured"


async def test_the_single_process_default_sweeps_on_its_own(tmp_path: Path, database: Database) -> None:
    settings = ServerSettings.for_home(tmp_path, database_url="sqlite://", secret_key="k", sweep_seconds=0.01)
    assert settings.processes == 1
    assert settings.queue_url is None
    platform = Platform.build(settings, runtimes={}, database=database)
    rounds = threading.Semaphore(0)
    swept: Callable[[], None] = rounds.release
    platform.sweep = swept  # type: ignore[method-assign]
    platform.start()
    try:
        assert rounds.acquire(timeout=10)
        assert rounds.acquire(timeout=10)  # and again
    finally:
        platform.stop()


async def test_on_nats_the_sweep_requeues_a_stale_queued_cast_whose_publish_was_lost(
    server_settings: ServerSettings, database: Database, wasm_runtime: Runtime, tmp_path: Path
) -> None:
    queue, stream = nats_queue_or_skip()
    settings = dataclasses.replace(server_settings, queue_url=NATS_URL)
    platform = Platform.build(settings, runtimes={"wasm": wasm_runtime}, database=database, queue=queue)
    platform.start()
    try:
        async with _client_of(platform, settings) as client:
            caster = await _paid_caster(client, platform, tmp_path)
            stale, fresh = await _lost_casts(client, platform, caster, ["stale", "fresh"])
            _age(platform, stale, created_at=utcnow() - timedelta(seconds=ORPHAN_GRACE_S + 30))
            await anyio.to_thread.run_sync(platform.sweep)
            after = await client.get(f"/v1/casts/{stale}?wait=20", headers=caster.headers)
        assert after.json()["status"] == "succeeded"
        assert platform.casts.get_status(fresh) == "queued"
    finally:
        platform.stop()
        await anyio.to_thread.run_sync(delete_stream, stream)
