"""A job delivered again (its worker went silent) finds its cast running: the cast ends, never runs twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from spell.config.server import ServerSettings
from spell.models import Cast, CastEvent, CastStatus, Publisher, Spell, Tenant, User
from spell.platform.server import Platform
from spell.queue.base import Handler, Job
from spell.runtimes.base import CastRequest, CastResult, Outcome, Runtime
from spell.storage.engine import make_engine
from spell.storage.session import Database
from tests.api.money_helpers import FLAT, credit, hold_and_balance, publish_priced
from tests.fixtures.server import seed_maker, seed_user


class RecordingQueue:
    """Remembers publishing and starting, runs nothing."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.published: list[Job] = []

    def publish(self, job: Job) -> None:
        self.published.append(job)

    def start(self, handler: Handler, *, workers: int) -> None:
        self.started.append(workers)

    def stop(self) -> None:
        pass


class CountingRuntime:
    """A runtime that only counts its runs."""

    def __init__(self) -> None:
        self.calls: list[CastRequest] = []

    def run(self, request: CastRequest) -> CastResult:
        self.calls.append(request)
        return CastResult(outcome=Outcome.SUCCEEDED)


@pytest.fixture
def runtime() -> CountingRuntime:
    return CountingRuntime()


@pytest.fixture
def built(tmp_path: Path, database: Database, runtime: CountingRuntime) -> Iterator[Platform]:
    settings = ServerSettings.for_home(tmp_path, database_url="sqlite://", secret_key="k")
    platform = Platform.build(settings, runtimes={"wasm": runtime}, database=database, queue=RecordingQueue())
    yield platform
    platform.stop()


def _cast(platform: Platform, cast_id: str) -> None:
    now = datetime.now(UTC)
    with platform.db.unit_of_work() as uow:
        session = uow.session
        if session.get(User, "usr_1") is None:
            session.add(Tenant(id="ten_1", name="acme", created_at=now))
            session.flush()
            session.add(Publisher(name="acme", tenant_id="ten_1", created_at=now))
            session.add(User(id="usr_1", tenant_id="ten_1", email="a@example.com", roles=[], created_at=now))
            session.flush()
            session.add(
                Spell(
                    id="acme/x",
                    publisher="acme",
                    tenant_id="ten_1",
                    name="x",
                    tags=[],
                    latest_version="1",
                    created_at=now,
                    updated_at=now,
                )
            )
            session.flush()
        session.add(
            Cast(
                id=cast_id,
                tenant_id="ten_1",
                user_id="usr_1",
                spell_id="acme/x",
                version="1",
                spell_digest="sha256:x",
                status=CastStatus.QUEUED,
                idempotency_key=cast_id,
                request_digest="d",
                input={},
                input_digest="d",
                cancel_requested=False,
                created_at=now,
            )
        )


def _claimed_elsewhere(platform: Platform, cast_id: str) -> None:
    """The cast as a worker in another process left it: claimed ``running``."""
    _cast(platform, cast_id)
    with platform.db.unit_of_work() as uow:
        assert platform.runner.parts.repo.claim(uow, cast_id, started_at=datetime.now(UTC)) is not None


def _job(cast_id: str, *, redelivered: bool, tenant_id: str = "ten_1") -> Job:
    return Job("cast.run", cast_id, {"cast_id": cast_id, "tenant_id": tenant_id}, redelivered=redelivered)


def _status_and_ends(platform: Platform, cast_id: str) -> tuple[str, str | None, int]:
    with platform.db.unit_of_work(write=False) as uow:
        cast = uow.session.get(Cast, cast_id, populate_existing=True)
        assert cast is not None
        ends = uow.session.query(CastEvent).filter_by(cast_id=cast_id, type=CastStatus.ABORTED).count()
        return cast.status, cast.error_code, ends


def test_a_redelivered_job_of_a_cast_running_nowhere_here_ends_it_aborted_without_running_it(
    built: Platform, runtime: CountingRuntime
) -> None:
    _claimed_elsewhere(built, "cast_gone")
    built.runner(_job("cast_gone", redelivered=True))
    built.runner(_job("cast_gone", redelivered=True))  # yet another delivery: nothing more happens
    assert _status_and_ends(built, "cast_gone") == (CastStatus.ABORTED, "INTERNAL", 1)
    assert runtime.calls == []


def test_a_first_delivery_of_a_cast_already_running_leaves_it_to_its_runner(
    built: Platform, runtime: CountingRuntime
) -> None:
    _claimed_elsewhere(built, "cast_dup")
    built.runner(_job("cast_dup", redelivered=False))  # a duplicate job: the claim turns it away
    assert _status_and_ends(built, "cast_dup") == (CastStatus.RUNNING, None, 0)
    assert runtime.calls == []


def test_a_redelivered_job_of_a_cast_this_process_runs_leaves_it_running(built: Platform) -> None:
    _claimed_elsewhere(built, "cast_mine")
    built.casts.cancels.open("cast_mine")  # its runner is a thread of this process
    try:
        built.runner(_job("cast_mine", redelivered=True))
    finally:
        built.casts.cancels.close("cast_mine")
    assert _status_and_ends(built, "cast_mine") == (CastStatus.RUNNING, None, 0)


def test_an_api_only_platform_starts_no_queue_workers(tmp_path: Path, database: Database) -> None:
    settings = ServerSettings.for_home(
        tmp_path, database_url="sqlite://", secret_key="k", run_workers=False, queue_url="nats://x:4222"
    )
    queue = RecordingQueue()
    platform = Platform.build(settings, runtimes={}, database=database, queue=queue)
    platform.start()
    platform.stop()
    assert queue.started == []

    workers = Platform.build(
        ServerSettings.for_home(tmp_path, database_url="sqlite://", secret_key="k", workers=3),
        runtimes={},
        database=database,
        queue=queue,
    )
    workers.start()
    workers.stop()
    assert queue.started == [3]


class HeldRuntime:
    """Runs a cast until the test lets it finish, then succeeds."""

    def __init__(self) -> None:
        self.running = threading.Event()
        self.finish = threading.Event()
        self.finished = threading.Event()

    def run(self, request: CastRequest) -> CastResult:
        self.running.set()
        self.finish.wait(30)
        self.finished.set()
        return CastResult(outcome=Outcome.SUCCEEDED, output={"ok": True})


@pytest.fixture
def held() -> HeldRuntime:
    return HeldRuntime()


@pytest.fixture
def runtimes(held: HeldRuntime) -> dict[str, Runtime]:
    return {"wasm": held}


@pytest.mark.anyio
async def test_a_worker_still_alive_after_its_cast_was_ended_for_it_charges_nothing(
    client: httpx.AsyncClient,
    platform: Platform,
    held: HeldRuntime,
    server_settings: ServerSettings,
    database_url: str,
    tmp_path: Path,
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    caster = seed_user(platform, "caster@example.com", ["caster"])
    credit(platform, caster.user_id, 1_000_000)
    headers = {**caster.headers, "Idempotency-Key": "slow"}
    queued = await client.post("/v1/spells/acme/paid/cast", headers=headers, json={"input": {"name": "x"}})
    cast_id = queued.json()["id"]
    assert held.running.wait(10)  # a worker of this platform runs it

    # its job went to another process, as when this one stopped answering the broker for ack_wait
    other = Platform.build(
        server_settings, runtimes={}, database=Database(make_engine(database_url)), queue=RecordingQueue()
    )
    try:
        other.runner(_job(cast_id, tenant_id=caster.tenant_id, redelivered=True))
    finally:
        other.stop()
    held.finish.set()
    assert held.finished.wait(10)
    platform.queue.stop()  # the first worker recorded its end, or found the cast ended

    assert _status_and_ends(platform, cast_id) == (CastStatus.ABORTED, "INTERNAL", 1)
    assert hold_and_balance(platform, cast_id, caster.user_id) == ("released", 1_000_000)


def test_a_claim_moves_a_queued_cast_once_and_appends_its_running_event(built: Platform) -> None:
    _cast(built, "cast_claim")
    queued = {"status": "queued"}
    with built.db.unit_of_work() as uow:
        event = CastEvent(
            cast_id="cast_claim", seq=1, type="queued", data=queued, created_at=datetime.now(UTC)
        )
        uow.session.add(event)
    at = datetime.now(UTC)
    repo = built.runner.parts.repo
    with built.db.unit_of_work() as uow:
        claimed = repo.claim(uow, "cast_claim", started_at=at)
    assert claimed is not None
    assert (claimed.id, claimed.status, claimed.started_at) == ("cast_claim", CastStatus.RUNNING, at)
    with built.db.unit_of_work() as uow:  # claimed already: nothing moves, no event is added
        assert repo.claim(uow, "cast_claim", started_at=datetime.now(UTC)) is None
    with built.db.unit_of_work(write=False) as uow:
        events = uow.session.query(CastEvent).filter_by(cast_id="cast_claim").order_by(CastEvent.seq).all()
        assert [(event.seq, event.type, event.data) for event in events] == [
            (1, "queued", {"status": "queued"}),
            (2, "running", {"status": "running"}),
        ]
