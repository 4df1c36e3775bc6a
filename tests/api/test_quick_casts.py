"""Quick casts: on SQLite a ``Prefer: wait`` cast of a pure WASM spell runs on the event loop within a
budget; one that overruns it runs again from the start on a cast thread, and only that run counts."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import func, select

from spell.api.inline import InlineCasts
from spell.models import Cast, CastEvent, SpellVersion
from spell.platform.cast.service import CastRequestBody
from spell.platform.cast.tasks import QUICK_BUDGET_S
from spell.platform.server import Platform
from tests.fixtures.bundles import SPIN_FUEL, SPIN_WAT
from tests.fixtures.server import Caller, publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio


async def _caster(client: httpx.AsyncClient, platform: Platform, tmp_path: Path, **kwargs: Any) -> Caller:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, **kwargs)
    return seed_user(platform, "caster@example.com", ["caster"])


def _inline(client: httpx.AsyncClient) -> InlineCasts:
    inline: InlineCasts = client._transport.app.state.inline  # type: ignore[attr-defined]
    return inline


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


class _Threads:
    """Which threads ran ``CastRunner.execute`` (the thread path) during a test."""

    def __init__(self, platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        original = platform.runner.execute

        def spy(cast: Cast, version: SpellVersion) -> Cast:
            self.names.append(threading.current_thread().name)
            return original(cast, version)

        monkeypatch.setattr(platform.runner, "execute", spy)


def _quick_here(platform: Platform) -> bool:
    return platform.db.engine.dialect.name == "sqlite"


async def _warm_up(client: httpx.AsyncClient, caster: Caller, **body: Any) -> None:
    """The first cast of a spell in a process runs on a cast thread (its module gets loaded there)."""
    first = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "warm-up", "Prefer": "wait=20"},
        json={"input": body or {"name": "w"}},
    )
    assert first.status_code == 200, first.text


async def test_the_first_cast_of_a_spell_loads_it_on_a_cast_thread(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster = await _caster(client, platform, tmp_path)
    threads = _Threads(platform, monkeypatch)
    assert platform.runner.quick_fits(_version(platform)) is False
    await _warm_up(client, caster)
    assert len(threads.names) == 1
    assert threads.names[0].startswith("spell-cast")
    assert platform.runner.quick_fits(_version(platform)) is True


async def test_a_pure_wasm_cast_ends_on_the_event_loop_without_a_cast_thread(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster = await _caster(client, platform, tmp_path)
    await _warm_up(client, caster)
    threads = _Threads(platform, monkeypatch)
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "q-1", "Prefer": "wait=10"},
        json={"input": {"name": "a"}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["output"] == {"greeting": "hello", "input": {"name": "a"}}
    assert _events(platform, body["id"]) == ["queued", "running", "succeeded"]
    # PostgreSQL statements wait on the network: there every cast runs on a cast thread
    assert _inline(client)._quick is _quick_here(platform)
    if _quick_here(platform):
        assert threads.names == []
    else:
        assert len(threads.names) == 1
        assert threads.names[0].startswith("spell-cast")


async def test_a_cast_over_the_budget_runs_again_with_its_full_limit_and_only_that_run_counts(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster = await _caster(
        client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=400
    )
    await _warm_up(client, caster, x=1)
    platform.runner._slow.clear()  # the warm-up overran too: try the spell quickly again
    threads = _Threads(platform, monkeypatch)
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "q-spin", "Prefer": "wait=20"},
        json={"input": {}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "timeout"
    # the recorded run is the rerun with the spell's 400 ms, not the 10 ms attempt
    assert body["usage"]["wall_ms"] >= 300
    assert len(threads.names) == 1
    assert threads.names[0].startswith("spell-cast")
    assert _events(platform, body["id"]) == ["queued", "running", "timeout"]
    with platform.db.unit_of_work(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Cast)) == 2  # with the warm-up
    # an overrun spell is not tried on the loop again for a while
    assert platform.runner.quick_fits(_version(platform)) is not _quick_here(platform)
    again = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "q-spin-2", "Prefer": "wait=20"},
        json={"input": {}},
    )
    assert again.json()["status"] == "timeout"
    assert len(threads.names) == 2


async def test_a_budgeted_attempt_that_gives_up_records_nothing_and_leaves_the_cast_running(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _caster(
        client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=300, fs_write=("out",)
    )
    await _warm_up(client, caster, x=1)
    platform.runner._slow.clear()
    with platform.db.unit_of_work(write=False) as uow:
        principal = platform.auth.authenticate_key(uow, caster.token)
    body = CastRequestBody(spell_id="acme/hello", input={})
    cast, replay, done = platform.runner.cast_quick(principal, body, "attempt")
    assert (replay, done) == (False, False)
    assert _version(platform).digest in platform.runner._slow  # it was tried, and overran
    assert platform.casts.get_status(cast.id) == "running"
    assert _events(platform, cast.id) == ["queued", "running"]
    assert not platform.casts.cancels.is_running(cast.id)
    assert not (platform.runner.work_dir / cast.id).exists()  # the attempt's files are gone
    ended = platform.runner.execute(cast, platform.runner.version_of(cast))
    assert ended.status == "timeout"
    assert ended.usage is not None
    assert ended.usage["wall_ms"] >= 200
    assert _events(platform, cast.id) == ["queued", "running", "timeout"]


async def test_spells_with_network_access_or_a_limit_under_the_budget_are_not_tried_quickly(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, net_allow=("api.example.com",))
    await publish(client, maker, tmp_path, spell_id="acme/tiny", timeout_ms=int(QUICK_BUDGET_S * 1000))
    await publish(client, maker, tmp_path, spell_id="acme/pure")
    with platform.db.unit_of_work(write=False) as uow:
        versions = {v.spell_id: v for v in uow.session.scalars(select(SpellVersion))}
        for version in versions.values():
            uow.session.expunge(version)
    platform.runner._warm.update(v.digest for v in versions.values())  # as if each had run here
    # re-running a spell that may call out could repeat what it did outside the cast
    assert platform.runner.quick_fits(versions["acme/hello"]) is False
    assert platform.runner.quick_fits(versions["acme/tiny"]) is False
    assert platform.runner.quick_fits(versions["acme/pure"]) is True


async def test_a_failing_quick_cast_frees_its_slot_and_answers_the_catalog_error(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _caster(client, platform, tmp_path)
    for attempt in range(platform.settings.inline_casts + 2):
        response = await client.post(
            "/v1/spells/acme/hello/cast",
            headers={**caster.headers, "Idempotency-Key": f"bad-{attempt}", "Prefer": "wait=5"},
            json={"input": {"name": 7}},
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    slots = _inline(client)._slots
    assert slots is not None
    taken = [slots.acquire(blocking=False) for _ in range(platform.settings.inline_casts)]
    assert all(taken)
    for _ in taken:
        slots.release()


async def test_a_rerun_longer_than_the_wait_answers_202_running_and_frees_its_slot_at_its_end(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _caster(
        client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=2500, fuel=SPIN_FUEL
    )
    await _warm_up(client, caster, x=1)
    platform.runner._slow.clear()
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "q-long", "Prefer": "wait=1"},
        json={"input": {}},
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "running"
    slots = _inline(client)._slots
    assert slots is not None
    assert not all(_take_all(slots, platform.settings.inline_casts))  # the rerun holds one
    with anyio.fail_after(10):
        while not all(_take_all(slots, platform.settings.inline_casts)):  # given back at its end
            await anyio.sleep(0.02)
    # it ran to a limit of its own: the wall clock, or on a very fast machine its fuel
    assert platform.casts.get_status(response.json()["id"]) in {"timeout", "failed"}


def _take_all(slots: threading.BoundedSemaphore, count: int) -> list[bool]:
    """Try to take every slot, then give back what was taken."""
    taken = [slots.acquire(blocking=False) for _ in range(count)]
    for got in taken:
        if got:
            slots.release()
    return taken
