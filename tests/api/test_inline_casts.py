"""``Prefer: wait`` casts run by the request itself: no queue job, two commits, the queue when busy."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from sqlalchemy import func, select

from spell.config.server import ServerSettings
from spell.models import Cast, CastEvent
from spell.platform.server import Platform
from spell.queue.base import Job
from tests.fixtures.bundles import SPIN_FUEL, SPIN_WAT
from tests.fixtures.server import Caller, publish, seed_caster, seed_maker, seed_user

pytestmark = pytest.mark.anyio


@pytest.fixture
def server_settings(server_settings: ServerSettings) -> ServerSettings:
    """One inline slot: a single waiting cast keeps every slot busy."""
    return dataclasses.replace(server_settings, inline_casts=1)


@pytest.fixture
def published_jobs(platform: Platform) -> Iterator[list[Job]]:
    """Every job the platform publishes to its queue (still delivered as usual)."""
    jobs: list[Job] = []
    original = platform.queue.publish

    def spy(job: Job) -> None:
        jobs.append(job)
        original(job)

    platform.queue.publish = spy  # type: ignore[method-assign]
    yield jobs
    platform.queue.publish = original  # type: ignore[method-assign]


def _headers(caller: Caller, key: str, wait: int) -> dict[str, str]:
    return {**caller.headers, "Idempotency-Key": key, "Prefer": f"wait={wait}"}


def _event_types(platform: Platform, cast_id: str) -> list[tuple[int, str]]:
    with platform.db.unit_of_work(write=False) as uow:
        rows = uow.session.execute(
            select(CastEvent.seq, CastEvent.type).where(CastEvent.cast_id == cast_id).order_by(CastEvent.seq)
        )
        return [(int(seq), str(kind)) for seq, kind in rows]


async def test_a_waiting_cast_runs_on_the_request_side_without_a_queue_job(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, published_jobs: list[Job]
) -> None:
    caster = await seed_caster(client, platform, tmp_path)
    response = await client.post(
        "/v1/spells/acme/hello/cast", headers=_headers(caster, "in-1", 10), json={"input": {"name": "a"}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["output"] == {"greeting": "hello", "input": {"name": "a"}}
    assert body["started_at"] is not None
    assert body["finished_at"] is not None
    assert published_jobs == []
    assert _event_types(platform, body["id"]) == [(1, "queued"), (2, "running"), (3, "succeeded")]
    stored = (await client.get(f"/v1/casts/{body['id']}", headers=caster.headers)).json()
    assert stored == {**body, "idempotent_replay": False}


async def test_when_every_slot_is_busy_a_waiting_cast_takes_the_queue(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, published_jobs: list[Job]
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    await publish(
        client,
        maker,
        tmp_path,
        spell_id="acme/spin",
        wat=SPIN_WAT,
        schema={"type": "object"},
        timeout_ms=30_000,
        fuel=SPIN_FUEL,
    )
    caster = seed_user(platform, "caster@example.com", ["caster"])
    with anyio.fail_after(20):
        busy = await client.post(
            "/v1/spells/acme/spin/cast", headers=_headers(caster, "hold", 1), json={"input": {}}
        )
    assert busy.json()["status"] == "running"  # still on the only inline slot
    assert platform.orchestrator.free_slots() == 0
    try:
        response = await client.post(
            "/v1/spells/acme/hello/cast", headers=_headers(caster, "busy", 10), json={"input": {"name": "b"}}
        )
    finally:
        await client.post(f"/v1/casts/{busy.json()['id']}/cancel", headers=caster.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "succeeded"
    assert [job.id for job in published_jobs] == [response.json()["id"]]


async def test_a_cast_longer_than_the_wait_answers_202_running_and_can_be_canceled(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await seed_caster(
        client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=30_000, fuel=SPIN_FUEL
    )
    with anyio.fail_after(20):
        response = await client.post(
            "/v1/spells/acme/hello/cast", headers=_headers(caster, "long", 1), json={"input": {}}
        )
    assert response.status_code == 202, response.text
    cast_id = response.json()["id"]
    assert response.json()["status"] == "running"
    assert response.headers["location"] == f"/v1/casts/{cast_id}"
    assert platform.casts.cancels.is_running(cast_id)
    canceled = await client.post(f"/v1/casts/{cast_id}/cancel", headers=caster.headers)
    assert canceled.json()["status"] == "canceled"
    with anyio.fail_after(10):
        while platform.casts.cancels.is_running(cast_id):
            await anyio.sleep(0.02)
    final = (await client.get(f"/v1/casts/{cast_id}", headers=caster.headers)).json()
    assert final["status"] == "canceled"
    assert final["usage"]["wall_ms"] < 10_000
    # the slot came back: the next waiting cast runs on the request side again
    with anyio.fail_after(10):
        while platform.orchestrator.free_slots() < platform.settings.inline_casts:
            await anyio.sleep(0.01)


async def test_bad_input_to_a_waiting_cast_is_refused_persists_nothing_and_frees_the_slot(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await seed_caster(
        client,
        platform,
        tmp_path,
        schema={"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
    )
    for attempt in range(platform.settings.inline_casts + 2):  # more refusals than there are slots
        response = await client.post(
            "/v1/spells/acme/hello/cast", headers=_headers(caster, f"bad-{attempt}", 10), json={"input": {}}
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    with platform.db.unit_of_work(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Cast)) == 0
    good = await client.post(
        "/v1/spells/acme/hello/cast", headers=_headers(caster, "good", 10), json={"input": {"name": "x"}}
    )
    assert good.json()["status"] == "succeeded"


async def test_a_replayed_waiting_cast_is_the_same_cast_and_runs_once(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await seed_caster(client, platform, tmp_path)
    first = await client.post(
        "/v1/spells/acme/hello/cast", headers=_headers(caster, "same", 10), json={"input": {"name": "a"}}
    )
    again = await client.post(
        "/v1/spells/acme/hello/cast", headers=_headers(caster, "same", 10), json={"input": {"name": "a"}}
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["idempotent_replay"] is True
    assert _event_types(platform, first.json()["id"])[-1] == (3, "succeeded")
    with platform.db.unit_of_work(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Cast)) == 1
