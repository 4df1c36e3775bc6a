"""Quick casts: a ``Prefer: wait`` cast of a pure WASM spell is created, run within a budget and ended
in one transaction on the event loop — on SQLite as it is, on PostgreSQL (whose statements wait on the
network) in a greenlet whose waits yield to the loop; one that overruns the budget runs again from the
start, and only that run counts."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import func, select

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.kit.clock import FakeClock
from spell.models import AuditRecord, Cast, CastEvent, SpellVersion
from spell.platform.cast import runner as runner_module
from spell.platform.cast.runner import QUICK_BENCH_S, QUICK_BUDGET_S, QUICK_FIRST_BENCH_S
from spell.platform.cast.service import CastRequestBody
from spell.platform.server import Platform
from spell.platform.spell import counts
from spell.queue.base import Job
from spell.runtimes.base import CastRequest, CastResult, Outcome
from spell.storage import yielding
from spell.storage.session import UnitOfWork
from tests.api.money_helpers import FLAT, credit, publish_priced
from tests.fixtures.bundles import SPIN_FUEL, SPIN_WAT
from tests.fixtures.clock import clock, platform
from tests.fixtures.server import Caller, publish, seed_caster, seed_maker, seed_user

pytestmark = pytest.mark.anyio

__all__ = ["clock", "platform"]  # fixtures: casts on a fake clock


def _version(platform: Platform) -> SpellVersion:
    with platform.db.unit_of_work(write=False) as uow:
        found = uow.session.scalar(select(SpellVersion).where(SpellVersion.spell_id == "acme/hello"))
        assert found is not None
        uow.session.expunge(found)
        return found


def _events(platform: Platform, cast_id: str) -> list[str]:
    with platform.db.unit_of_work(write=False) as uow:
        rows = uow.session.scalars(
            select(CastEvent.type).where(CastEvent.cast_id == cast_id).order_by(CastEvent.seq)
        )
        return list(rows)


class _Paths:
    """Casts run by ``CastRunner.execute`` (on a cast thread, not the event loop), jobs queued, and the
    threads quick attempts ran on."""

    def __init__(self, platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
        self.executed: list[str] = []
        self.queued: list[str] = []
        self.attempted_on: list[str] = []
        self.yielding: list[bool] = []  # whether each attempt's database waits yielded to the loop
        # the loop's connections out as each attempt began (PostgreSQL)
        self.loop_held: list[int] = []
        loop_pool: Any = platform.db.loop_engine.pool if platform.db.loop_engine is not None else None
        execute, publish_job = platform.runner.execute, platform.queue.publish
        attempt = platform.runner.attempt

        def spy_execute(cast: Cast, version: SpellVersion) -> Cast:
            self.executed.append(cast.id)
            return execute(cast, version)

        def spy_attempt(uow: UnitOfWork, cast: Cast, version: SpellVersion, **kwargs: Any) -> Cast | None:
            self.attempted_on.append(threading.current_thread().name)
            self.yielding.append(yielding.active())
            if loop_pool is not None:
                self.loop_held.append(loop_pool.checkedout())
            return attempt(uow, cast, version, **kwargs)

        monkeypatch.setattr(platform.runner, "attempt", spy_attempt)

        def spy_publish(job: Job) -> None:
            self.queued.append(job.id)
            publish_job(job)

        monkeypatch.setattr(platform.runner, "execute", spy_execute)
        monkeypatch.setattr(platform.queue, "publish", spy_publish)

    def ran_on_a_cast_thread(self, *cast_ids: str) -> bool:
        """These casts, and no others, ran on the request side's cast threads (never queued)."""
        return self.executed == list(cast_ids) and self.queued == []


def _on_the_loop(platform: Platform) -> bool:
    """Whether write transactions queue (SQLite): then an attempt needs a slot, and a priced one fits."""
    return platform.db.engine.dialect.name == "sqlite"


async def _warm_up(client: httpx.AsyncClient, caster: Caller, spell: str = "acme/hello", **body: Any) -> str:
    """The first cast of a spell in a process runs on a cast thread (its module gets loaded there)."""
    first = await client.post(
        f"/v1/spells/{spell}/cast",
        headers={**caster.headers, "Idempotency-Key": f"warm-up-{spell}", "Prefer": "wait=20"},
        json={"input": body or {"name": "w"}},
    )
    assert first.status_code == 200, first.text
    return str(first.json()["id"])


async def _send(
    client: httpx.AsyncClient, caster: Caller, key: str, given: dict[str, Any], *, wait: int = 20
) -> httpx.Response:
    """A cast of acme/hello under ``key`` whose caller waits up to ``wait`` seconds for its end."""
    return await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": key, "Prefer": f"wait={wait}"},
        json={"input": given},
    )


async def test_the_first_cast_of_a_spell_loads_it_on_a_cast_thread(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster = await seed_caster(client, platform, tmp_path)
    paths = _Paths(platform, monkeypatch)
    assert platform.runner.quick_fits(_version(platform)) is False
    cast_id = await _warm_up(client, caster)
    assert paths.ran_on_a_cast_thread(cast_id)
    assert platform.runner.quick_fits(_version(platform)) is True


async def test_a_pure_wasm_cast_ends_in_its_creating_transaction_on_the_loop(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster = await seed_caster(client, platform, tmp_path)
    await _warm_up(client, caster)
    paths = _Paths(platform, monkeypatch)
    response = await _send(client, caster, "q-1", {"name": "a"}, wait=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["output"] == {"greeting": "hello", "input": {"name": "a"}}
    assert _events(platform, body["id"]) == ["queued", "running", "succeeded"]
    # never run again after its creation was committed, nor queued
    assert paths.ran_on_a_cast_thread()
    # on the loop's thread on both; PostgreSQL's statements wait on the network, so there its waits
    # yield to the loop, and with every slot taken an attempt is still made
    assert platform.orchestrator.quick is True
    assert platform.orchestrator.quick_on_thread is not _on_the_loop(platform)
    assert paths.attempted_on == [threading.current_thread().name]
    assert paths.yielding == [not _on_the_loop(platform)]


async def test_a_cast_over_the_budget_runs_again_with_its_full_limit_and_only_that_run_counts(
    client: httpx.AsyncClient,
    platform: Platform,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: FakeClock,
) -> None:
    caster = await seed_caster(
        client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=400
    )
    await _warm_up(client, caster, x=1)
    paths = _Paths(platform, monkeypatch)
    response = await _send(client, caster, "q-spin", {})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "timeout"
    # the recorded run is the rerun with the spell's 400 ms, not the 10 ms attempt
    assert body["usage"]["wall_ms"] >= 300
    assert paths.ran_on_a_cast_thread(body["id"])
    assert _events(platform, body["id"]) == ["queued", "running", "timeout"]
    with platform.db.unit_of_work(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Cast)) == 2  # with the warm-up
    # an overrun spell is not tried quickly again for a while
    assert platform.runner.quick_fits(_version(platform)) is False
    clock.advance(QUICK_FIRST_BENCH_S / 2)
    assert platform.runner.quick_fits(_version(platform)) is False
    again = await _send(client, caster, "q-spin-2", {})
    assert again.json()["status"] == "timeout"
    assert paths.ran_on_a_cast_thread(body["id"], again.json()["id"])
    clock.advance(QUICK_FIRST_BENCH_S / 2)  # the bench is over
    assert platform.runner.quick_fits(_version(platform)) is True


async def test_each_overrun_in_a_row_benches_the_spell_twice_as_long_up_to_the_longest_bench(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, clock: FakeClock
) -> None:
    caster = await seed_caster(
        client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=300
    )
    await _warm_up(client, caster, x=1)
    clock.advance(QUICK_BENCH_S)
    with platform.db.unit_of_work(write=False) as uow:
        principal = platform.auth.authenticate_key(uow, caster.token)
    body = CastRequestBody(spell_id="acme/hello", input={})
    benches = [QUICK_FIRST_BENCH_S * 2**n for n in range(6)]
    assert benches[-1] < QUICK_BENCH_S < benches[-1] * 2
    for attempt, bench in enumerate([*benches, QUICK_BENCH_S, QUICK_BENCH_S]):
        assert platform.runner.quick_fits(_version(platform)) is True
        _created, done = platform.orchestrator.cast_quick(principal, body, f"overrun-{attempt}")
        assert done is False
        clock.advance(bench - QUICK_FIRST_BENCH_S / 4)
        assert platform.runner.quick_fits(_version(platform)) is False, attempt
        clock.advance(QUICK_FIRST_BENCH_S / 4)


async def test_an_attempt_that_ends_in_time_resets_the_bench_to_the_first(
    client: httpx.AsyncClient,
    platform: Platform,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: FakeClock,
) -> None:
    caster = await seed_caster(client, platform, tmp_path)
    await _warm_up(client, caster)
    runtime = platform.runner.runtimes["wasm"]
    real_run = runtime.run

    def preempted(request: CastRequest) -> CastResult:
        # a busy moment of the machine: the attempt ran out of its budget
        assert request.within_s is not None  # the attempt, never the rerun
        return CastResult(outcome=Outcome.TIMEOUT, message="the budget ran out")

    def cast(key: str) -> dict[str, Any]:
        with platform.db.unit_of_work(write=False) as uow:
            principal = platform.auth.authenticate_key(uow, caster.token)
        body = CastRequestBody(spell_id="acme/hello", input={"name": "b"})
        created, done = platform.orchestrator.cast_quick(principal, body, key)
        return {"done": done, "status": created.cast.status}

    for attempt in range(3):  # benched 1, 2, then 4 times the first bench
        monkeypatch.setattr(runtime, "run", preempted)
        assert cast(f"slow-{attempt}") == {"done": False, "status": "running"}
        clock.advance(QUICK_FIRST_BENCH_S * 2**attempt)

    def in_time(request: CastRequest) -> CastResult:
        # a real run, its budget wide enough that a loaded test machine does not turn it into a miss
        assert request.within_s is not None
        return real_run(replace(request, within_s=60.0))

    monkeypatch.setattr(runtime, "run", in_time)
    assert cast("in-time") == {"done": True, "status": "succeeded"}
    monkeypatch.setattr(runtime, "run", preempted)
    assert cast("slow-again") == {"done": False, "status": "running"}
    assert platform.runner.quick_fits(_version(platform)) is False
    clock.advance(QUICK_FIRST_BENCH_S)  # the first bench again, not eight times it
    assert platform.runner.quick_fits(_version(platform)) is True


async def test_a_budgeted_attempt_that_gives_up_records_nothing_and_leaves_the_cast_running(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, clock: FakeClock
) -> None:
    caster = await seed_caster(
        client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=300, fs_write=("out",)
    )
    await _warm_up(client, caster, x=1)
    clock.advance(QUICK_BENCH_S)  # the warm-up overran the budget too: its bench is over
    assert platform.runner.quick_fits(_version(platform)) is True
    with platform.db.unit_of_work(write=False) as uow:
        principal = platform.auth.authenticate_key(uow, caster.token)
    body = CastRequestBody(spell_id="acme/hello", input={})
    created, done = platform.orchestrator.cast_quick(principal, body, "attempt")
    cast = created.cast
    assert (created.replay, done) == (False, False)
    assert platform.runner.quick_fits(_version(platform)) is False  # it was tried, and overran
    assert platform.casts.get_status(cast.id) == "running"
    assert _events(platform, cast.id) == ["queued", "running"]
    assert not platform.casts.cancels.is_running(cast.id)
    assert not (platform.runner.work_dir / cast.id).exists()  # the attempt's files are gone
    assert created.version is not None
    ended = platform.runner.execute(cast, created.version)
    assert ended.status == "timeout"
    assert ended.usage is not None
    assert ended.usage["wall_ms"] >= 200
    assert _events(platform, cast.id) == ["queued", "running", "timeout"]


async def test_spells_with_network_access_or_a_limit_under_the_budget_are_not_tried_quickly(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, clock: FakeClock
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, net_allow=("api.example.com",))
    await publish(client, maker, tmp_path, spell_id="acme/tiny", timeout_ms=int(QUICK_BUDGET_S * 1000))
    await publish(client, maker, tmp_path, spell_id="acme/pure")
    for spell in ("acme/hello", "acme/tiny", "acme/pure"):  # each ran here once: its module is loaded
        await _warm_up(client, maker, spell)
    clock.advance(QUICK_BENCH_S)  # a warm-up that overran the budget is benched no more
    with platform.db.unit_of_work(write=False) as uow:
        versions = {v.spell_id: v for v in uow.session.scalars(select(SpellVersion))}
        for version in versions.values():
            uow.session.expunge(version)
    # re-running a spell that may call out could repeat what it did outside the cast
    assert platform.runner.quick_fits(versions["acme/hello"]) is False
    assert platform.runner.quick_fits(versions["acme/tiny"]) is False
    assert platform.runner.quick_fits(versions["acme/pure"]) is True


async def test_a_failing_quick_cast_frees_its_slot_and_answers_the_catalog_error(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await seed_caster(client, platform, tmp_path)
    for attempt in range(platform.settings.inline_casts + 2):
        response = await _send(client, caster, f"bad-{attempt}", {"name": 7}, wait=5)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert platform.orchestrator.free_slots() == platform.settings.inline_casts


async def test_a_rerun_longer_than_the_wait_answers_202_running_and_frees_its_slot_at_its_end(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, clock: FakeClock
) -> None:
    caster = await seed_caster(
        client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=2500, fuel=SPIN_FUEL
    )
    await _warm_up(client, caster, x=1)
    clock.advance(QUICK_BENCH_S)
    response = await _send(client, caster, "q-long", {}, wait=1)
    assert response.status_code == 202, response.text
    cast_id = response.json()["id"]
    assert response.json()["status"] == "running"
    slots = platform.settings.inline_casts
    assert platform.orchestrator.free_slots() == slots - 1  # the rerun holds one
    ended = await client.get(f"/v1/casts/{cast_id}", params={"wait": 10}, headers=caster.headers)
    # it ran to a limit of its own: the wall clock, or on a very fast machine its fuel
    assert ended.json()["status"] in {"timeout", "failed"}
    with anyio.fail_after(10):
        while platform.orchestrator.free_slots() < slots:  # given back as its thread lets go
            await anyio.sleep(0.01)


async def test_with_every_slot_taken_a_waiting_quick_cast_still_ends_without_the_queue_on_postgresql(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster = await seed_caster(client, platform, tmp_path)
    await _warm_up(client, caster)
    paths = _Paths(platform, monkeypatch)
    monkeypatch.setattr(platform.orchestrator, "_take", lambda _tenant: False)  # every slot is busy
    response = await _send(client, caster, "busy-1", {"name": "b"}, wait=10)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "succeeded"
    assert _events(platform, response.json()["id"]) == ["queued", "running", "succeeded"]
    if _on_the_loop(platform):  # SQLite's attempts run on the loop, under a slot: the cast was queued
        assert paths.queued == [response.json()["id"]]
    else:  # the attempt ran on the loop anyway, and ended the cast in its creating transaction
        assert paths.ran_on_a_cast_thread()
        assert paths.attempted_on == [threading.current_thread().name]
        assert paths.yielding == [True]


async def test_with_every_slot_taken_an_attempt_that_gives_up_leaves_nothing_and_the_cast_is_queued(
    client: httpx.AsyncClient,
    platform: Platform,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: FakeClock,
) -> None:
    caster = await seed_caster(
        client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=400
    )
    await _warm_up(client, caster, x=1)
    clock.advance(QUICK_BENCH_S)  # the warm-up overran the budget too: its bench is over
    paths = _Paths(platform, monkeypatch)
    monkeypatch.setattr(platform.orchestrator, "_take", lambda _tenant: False)
    response = await _send(client, caster, "busy-spin", {})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "timeout"
    assert body["usage"]["wall_ms"] >= 300  # the queued run, with the spell's own limit
    assert paths.queued == [body["id"]]
    # tried once: on the loop on PostgreSQL, else by the queue's worker as it claimed it
    assert len(paths.attempted_on) == 1
    assert paths.yielding == [not _on_the_loop(platform)]
    version = _version(platform)
    assert not platform.runner.quick_fits(version, job=True)  # benched for the workers either way
    # a worker's overrun leaves the request side's quick casts alone; the request's benches both
    assert platform.runner.quick_fits(version) is _on_the_loop(platform)
    assert _events(platform, body["id"]) == ["queued", "running", "timeout"]
    with platform.db.unit_of_work(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Cast)) == 2  # with the warm-up
        assert counts.exact(uow.session, "acme/hello") == 2  # the attempt's count was rolled back with it


async def test_a_priced_spell_is_tried_quickly_only_where_write_transactions_queue(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL a hold and its capture in one transaction could deadlock with another capture.
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    caster = seed_user(platform, "caster@example.com", ["caster"])
    credit(platform, caster.user_id, 10_000_000)
    await _warm_up(client, caster, "acme/paid", name="w")
    paths = _Paths(platform, monkeypatch)
    response = await client.post(
        "/v1/spells/acme/paid/cast",
        headers={**caster.headers, "Idempotency-Key": "paid-1", "Prefer": "wait=10"},
        json={"input": {"name": "p"}},
    )
    assert response.json()["status"] == "succeeded", response.text
    assert len(paths.attempted_on) == (1 if _on_the_loop(platform) else 0)
    with platform.db.unit_of_work(write=False) as uow:
        platform.ledger.verify(uow)
        wallet = platform.ledger.balance(uow, caster.user_id, "wallet", "USD").micros
        holds = platform.ledger.balance(uow, caster.user_id, "holds", "USD").micros
    assert (wallet, holds) == (10_000_000 - 2 * 250_000, 0)  # the warm-up and this cast, once each


async def test_a_queued_cast_of_a_warm_pure_wasm_spell_is_claimed_run_and_ended_in_one_transaction(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _roomy_budgets(monkeypatch)
    caster = await seed_caster(client, platform, tmp_path)
    await _warm_up(client, caster)
    paths = _Paths(platform, monkeypatch)
    commits: list[str] = []
    monkeypatch.setattr(platform.casts.hub, "notify", _counting(platform.casts.hub.notify, commits))
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "queued-quick"},
        json={"input": {"name": "q"}},
    )
    assert response.status_code == 202, response.text
    cast_id = response.json()["id"]
    ended = await client.get(f"/v1/casts/{cast_id}", params={"wait": 10}, headers=caster.headers)
    assert ended.json()["status"] == "succeeded", ended.text
    assert ended.json()["output"] == {"greeting": "hello", "input": {"name": "q"}}
    assert paths.queued == [cast_id]
    assert paths.executed == []
    [thread] = paths.attempted_on
    assert thread.startswith(("spell-worker", "spell-job"))
    assert _events(platform, cast_id) == ["queued", "running", "succeeded"]
    # one commit for claim and end: its moves to running and to its end are told together
    assert commits == [f"{cast_id} moved", f"{cast_id} ended"]


async def test_a_worker_attempt_whose_end_cannot_be_recorded_rolls_back_its_claim_and_runs_it_anew(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _roomy_budgets(monkeypatch)
    caster = await seed_caster(client, platform, tmp_path)
    await _warm_up(client, caster)
    paths = _Paths(platform, monkeypatch)
    store, failed = platform.runner.artifacts.store, list[str]()

    def store_once_failing(uow: UnitOfWork, cast: Cast, artifacts: Any) -> Any:
        if not failed:
            failed.append(cast.id)
            raise OSError("the blob store is down")
        return store(uow, cast, artifacts)

    monkeypatch.setattr(platform.runner.artifacts, "store", store_once_failing)
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "queued-rollback"},
        json={"input": {"name": "r"}},
    )
    cast_id = response.json()["id"]
    ended = await client.get(f"/v1/casts/{cast_id}", params={"wait": 10}, headers=caster.headers)
    assert ended.json()["status"] == "succeeded", ended.text
    assert failed == [cast_id]
    assert len(paths.attempted_on) == 1
    assert paths.executed == [cast_id]
    assert _events(platform, cast_id) == ["queued", "running", "succeeded"]  # the first claim left nothing


async def test_a_long_poll_woken_by_a_worker_gets_the_ended_cast_without_reading_it_again(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _roomy_budgets(monkeypatch)
    caster = await seed_caster(client, platform, tmp_path)
    await _warm_up(client, caster)
    attempt, go = platform.runner.attempt, threading.Event()

    def held_attempt(uow: UnitOfWork, cast: Cast, version: SpellVersion, **kwargs: Any) -> Cast | None:
        assert go.wait(10)  # until the long poll read the cast not ended yet
        return attempt(uow, cast, version, **kwargs)

    monkeypatch.setattr(platform.runner, "attempt", held_attempt)
    get, reads = platform.casts.get, []

    def counted_get(principal: Any, cast_id: str) -> Cast:
        cast = get(principal, cast_id)
        reads.append(cast.status)
        return cast

    monkeypatch.setattr(platform.casts, "get", counted_get)
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "handed-over"},
        json={"input": {"name": "h"}},
    )
    cast_id = response.json()["id"]
    answers: list[httpx.Response] = []

    async def long_poll() -> None:
        answers.append(await client.get(f"/v1/casts/{cast_id}", params={"wait": 10}, headers=caster.headers))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(long_poll)
        while not reads:
            await anyio.sleep(0.005)
        go.set()
    [answer] = answers
    assert answer.json()["status"] == "succeeded", answer.text
    assert answer.json()["output"] == {"greeting": "hello", "input": {"name": "h"}}
    assert reads == ["queued"]  # the end came with the wake-up


async def test_a_long_poll_following_a_cast_queued_here_waits_for_its_end_without_reading_it(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _roomy_budgets(monkeypatch)
    caster = await seed_caster(client, platform, tmp_path)
    await _warm_up(client, caster)
    attempt, go = platform.runner.attempt, threading.Event()

    def held_attempt(uow: UnitOfWork, cast: Cast, version: SpellVersion, **kwargs: Any) -> Cast | None:
        assert go.wait(10)  # until the long poll waits
        return attempt(uow, cast, version, **kwargs)

    monkeypatch.setattr(platform.runner, "attempt", held_attempt)
    get, reads = platform.casts.get, []

    def counted_get(principal: Any, cast_id: str) -> Cast:
        reads.append(cast_id)
        return get(principal, cast_id)

    monkeypatch.setattr(platform.casts, "get", counted_get)
    # made and its key first used (a write) before the held worker holds SQLite's write lock
    stranger = seed_user(platform, "stranger@example.com", ["caster"])
    assert (await client.get("/v1/casts", headers=stranger.headers)).status_code == 200
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "followed"},
        json={"input": {"name": "f"}},
    )
    assert response.status_code == 202, response.text
    cast_id = response.json()["id"]
    # another tenant learns nothing of it, though this process keeps it for the caster's long poll
    other = await client.get(f"/v1/casts/{cast_id}", params={"wait": 10}, headers=stranger.headers)
    assert other.status_code == 404, other.text
    assert other.json()["error"]["code"] == "CAST_NOT_FOUND"
    reads.clear()
    answers: list[httpx.Response] = []

    async def long_poll() -> None:
        answers.append(await client.get(f"/v1/casts/{cast_id}", params={"wait": 10}, headers=caster.headers))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(long_poll)
        while not platform.casts.hub.waiting():
            await anyio.sleep(0.005)
        go.set()
    [answer] = answers
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "succeeded", answer.text
    assert answer.json()["output"] == {"greeting": "hello", "input": {"name": "f"}}
    assert reads == []  # neither before waiting nor after: the end came with the wake-up
    # the next long poll of the ended cast reads it, as any read does
    again = await client.get(f"/v1/casts/{cast_id}", params={"wait": 10}, headers=caster.headers)
    assert again.json() == answer.json()
    assert reads == [cast_id]


def _roomy_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Budgets a busy test machine cannot overrun (the spells' limit is 10 s): an overrun would run
    the cast again on its own, which other tests cover."""
    monkeypatch.setattr(runner_module, "QUICK_BUDGET_S", 2.0)
    monkeypatch.setattr(runner_module, "QUICK_THREAD_BUDGET_S", 2.0)


def _counting(notify: Any, told: list[str]) -> Any:
    def counted(cast_id: str, *, terminal: bool = True, **kwargs: Any) -> None:
        told.append(f"{cast_id} {'ended' if terminal else 'moved'}")
        notify(cast_id, terminal=terminal, **kwargs)

    return counted


async def test_concurrent_quick_casts_on_postgresql_share_the_loops_own_connections_and_all_end(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if _on_the_loop(platform):
        pytest.skip("SQLite's attempts block the loop: one at a time")
    caster = await seed_caster(client, platform, tmp_path)
    await _warm_up(client, caster)
    paths = _Paths(platform, monkeypatch)
    assert platform.db.loop_engine is not None
    pool: Any = platform.db.loop_engine.pool

    async def one(index: int) -> httpx.Response:
        return await _send(client, caster, f"many-{index}", {"name": str(index)})

    answers = await asyncio.gather(*(one(index) for index in range(24)))
    assert [answer.json()["status"] for answer in answers] == ["succeeded"] * 24
    assert len(paths.attempted_on) == 24  # every one tried on the loop: none queued, none on a cast thread
    assert paths.ran_on_a_cast_thread()
    assert set(paths.yielding) == {True}
    # at most the loop's own connections at once, and its pool never grew past them
    assert 2 <= max(paths.loop_held) <= platform.db.loop_connections  # side by side, within the bound
    assert pool.overflow() <= 0


async def test_a_caller_who_stops_waiting_leaves_a_quick_cast_on_postgresql_running_to_its_end(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if _on_the_loop(platform):
        pytest.skip("SQLite's attempts never wait: nothing can stop them halfway")
    caster = await seed_caster(client, platform, tmp_path)
    await _warm_up(client, caster)
    with platform.db.unit_of_work(write=False) as uow:
        principal = platform.auth.authenticate_key(uow, caster.token)
    slots = platform.orchestrator.free_slots()
    attempt = platform.runner.attempt
    suspended = asyncio.Event()

    def slow(uow: UnitOfWork, cast: Cast, version: SpellVersion, **kwargs: Any) -> Cast | None:
        suspended.set()
        yielding.wait(asyncio.sleep(0.3))  # the cast's transaction is open, its caller goes away
        return attempt(uow, cast, version, **kwargs)

    monkeypatch.setattr(platform.runner, "attempt", slow)
    body = CastRequestBody(spell_id="acme/hello", input={"name": "gone"})
    caller = asyncio.ensure_future(platform.orchestrator.cast(principal, body, "gone-1", wait_s=10))
    await suspended.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    with anyio.fail_after(10):
        while platform.orchestrator.free_slots() < slots:  # given back at the cast's end
            await anyio.sleep(0.01)
    with platform.db.unit_of_work(write=False) as uow:
        ended = uow.session.scalar(select(Cast).where(Cast.idempotency_key == "gone-1"))
        assert ended is not None
        assert ended.status == "succeeded"
        assert ended.output == {"greeting": "hello", "input": {"name": "gone"}}


def _cast_records(platform: Platform, key: str) -> tuple[list[str], list[str]]:
    """The ids of the casts ``key`` made, and the audit actions recorded about them."""
    with platform.db.unit_of_work(write=False) as uow:
        ids = list(uow.session.scalars(select(Cast.id).where(Cast.idempotency_key == key)))
        actions = list(uow.session.scalars(select(AuditRecord.action).where(AuditRecord.subject.in_(ids))))
    return ids, sorted(actions)


async def test_a_repeated_key_on_the_loop_replays_its_cast_and_what_the_attempt_wrote_is_rolled_back(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL the attempt sends its statements and reads them at its commit: the key's check
    # comes back then, after the spell ran, and the whole attempt rolls back into a replay.
    caster = await seed_caster(client, platform, tmp_path)
    await _warm_up(client, caster)
    paths = _Paths(platform, monkeypatch)

    first = await _send(client, caster, "again-1", {"name": "r"})
    second = await _send(client, caster, "again-1", {"name": "r"})
    assert first.status_code == second.status_code == 200, second.text
    assert first.json()["idempotent_replay"] is False
    assert second.json()["idempotent_replay"] is True
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["output"] == first.json()["output"]
    ids, actions = _cast_records(platform, "again-1")
    assert ids == [first.json()["id"]]
    assert actions == ["cast.created", "cast.terminal"]
    assert _events(platform, ids[0]) == ["queued", "running", "succeeded"]
    assert paths.ran_on_a_cast_thread()
    # SQLite looks the key up first and never tries the replay; PostgreSQL tried it and rolled it back
    assert len(paths.attempted_on) == (1 if _on_the_loop(platform) else 2)
    with platform.db.unit_of_work(write=False) as uow:
        assert counts.exact(uow.session, "acme/hello") == 2  # with the warm-up: the replay is not counted


async def test_the_same_key_sent_at_once_makes_one_cast_and_every_other_caller_gets_it(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _roomy_budgets(monkeypatch)
    caster = await seed_caster(client, platform, tmp_path)
    await _warm_up(client, caster)
    _Paths(platform, monkeypatch)

    answers = await asyncio.gather(*(_send(client, caster, "at-once", {"name": "o"}) for _ in range(8)))
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert [answer.json()["idempotent_replay"] for answer in answers].count(False) == 1
    assert {answer.json()["status"] for answer in answers} == {"succeeded"}
    ids, actions = _cast_records(platform, "at-once")
    assert len(ids) == 1
    assert actions == ["cast.created", "cast.terminal"]
    assert _events(platform, ids[0]) == ["queued", "running", "succeeded"]


async def test_with_every_slot_taken_a_repeated_key_is_replayed_by_the_queues_way(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster = await seed_caster(client, platform, tmp_path)
    await _warm_up(client, caster)
    paths = _Paths(platform, monkeypatch)
    monkeypatch.setattr(platform.orchestrator, "_take", lambda _tenant: False)  # every slot is busy

    first = await _send(client, caster, "busy-again", {"name": "b"})
    second = await _send(client, caster, "busy-again", {"name": "b"})
    assert first.status_code == second.status_code == 200, second.text
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["idempotent_replay"] is True
    assert _cast_records(platform, "busy-again")[0] == [first.json()["id"]]
    assert paths.executed == []  # nothing ran again on a thread
    # at most one job: SQLite queues the first cast (its attempts need a slot), the replay queues nothing
    assert len(paths.queued) == (1 if _on_the_loop(platform) else 0)


async def test_the_app_opens_the_loops_database_connections_before_it_serves(
    platform: Platform, server_settings: ServerSettings
) -> None:
    app = create_app(server_settings, platform=platform, manage=False)
    loop_engine = platform.db.loop_engine
    async with app.router.lifespan_context(app):
        if loop_engine is None:  # SQLite: quick casts block the loop anyway, and there is no such pool
            assert platform.db.loop_connections == 0
        else:
            pool: Any = loop_engine.pool
            assert pool.checkedin() == platform.db.loop_connections == 8
