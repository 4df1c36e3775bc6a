"""Casting through the HTTP API on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import anyio
import httpx
import pytest
from sqlalchemy import func, select, update

from spell.kit.time import utcnow
from spell.models import Cast, CastEvent, Spell
from spell.platform.server import Platform
from spell.platform.spell import counts
from spell.queue.base import Job
from tests.fixtures.bundles import SPIN_WAT
from tests.fixtures.server import Caller, publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio


async def test_a_sync_cast_of_a_wasm_spell_returns_its_output_inline(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    caster = seed_user(platform, "caster@example.com", ["caster"])
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "k-1", "Prefer": "wait=10"},
        json={"input": {"name": "world"}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["output"] == {"greeting": "hello", "input": {"name": "world"}}
    assert body["idempotent_replay"] is False
    assert body["spell_digest"].startswith("sha256:")


async def _ready(client: httpx.AsyncClient, platform: Platform, tmp_path: Path, **kwargs: object) -> Caller:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, **kwargs)  # type: ignore[arg-type]
    return seed_user(platform, "caster@example.com", ["caster"])


def _cast_headers(caller: Caller, key: str, wait: int | None = None) -> dict[str, str]:
    headers = {**caller.headers, "Idempotency-Key": key}
    if wait is not None:
        headers["Prefer"] = f"wait={wait}"
    return headers


async def test_the_same_key_and_request_replays_the_same_cast(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path)
    first = await client.post(
        "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "r", 10), json={"input": {"name": "a"}}
    )
    again = await client.post(
        "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "r", 10), json={"input": {"name": "a"}}
    )
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["idempotent_replay"] is True
    conflict = await client.post(
        "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "r"), json={"input": {"name": "b"}}
    )
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"


@pytest.mark.parametrize("key", [None, "", "x" * 129, "tab\there", "\x7f"])
async def test_a_missing_or_malformed_idempotency_key_is_refused(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, key: str | None
) -> None:
    caster = await _ready(client, platform, tmp_path)
    headers = dict(caster.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    response = await client.post("/v1/spells/acme/hello/cast", headers=headers, json={"input": {"name": "a"}})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_input_failing_the_schema_is_422_with_the_errors_and_nothing_is_persisted(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path)
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers=_cast_headers(caster, "bad"),
        json={"input": {"name": 5, "extra": True}},
    )
    assert response.status_code == 422
    errors = response.json()["error"]["details"]["errors"]
    assert len(errors) == 2
    assert (await client.get("/v1/casts", headers=caster.headers)).json()["items"] == []


async def test_wrong_body_types_are_validation_errors(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path)
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers=_cast_headers(caster, "t"),
        json={"input": {"name": "a"}, "version": 7},
    )
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_unknown_spell_or_version_is_not_found(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path)
    spell = await client.post("/v1/spells/acme/nope/cast", headers=_cast_headers(caster, "1"), json={})
    assert spell.json()["error"]["code"] == "SPELL_NOT_FOUND"
    version = await client.post(
        "/v1/spells/acme/hello/cast",
        headers=_cast_headers(caster, "2"),
        json={"input": {"name": "a"}, "version": "9.0.0"},
    )
    assert version.json()["error"]["code"] == "VERSION_NOT_FOUND"


async def test_without_prefer_wait_the_cast_is_accepted_and_can_be_long_polled(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path)
    accepted = await client.post(
        "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "lp"), json={"input": {"name": "a"}}
    )
    assert accepted.status_code in {200, 202}
    assert accepted.headers["location"] == f"/v1/casts/{accepted.json()['id']}"
    done = (await client.get(f"{accepted.headers['location']}?wait=10", headers=caster.headers)).json()
    assert done["status"] == "succeeded"
    assert done["usage"]["fuel"] > 0
    assert done["finished_at"] is not None
    bad = await client.get(f"{accepted.headers['location']}?wait=-1", headers=caster.headers)
    assert bad.status_code == 422


async def test_casts_are_listed_newest_first_with_filters_and_cursor(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path)
    ids = []
    for index in range(3):
        response = await client.post(
            "/v1/spells/acme/hello/cast",
            headers=_cast_headers(caster, f"l{index}", 10),
            json={"input": {"name": str(index)}},
        )
        ids.append(response.json()["id"])
    page = (
        await client.get("/v1/casts?limit=2&status=succeeded&spell_id=acme/hello", headers=caster.headers)
    ).json()
    assert [c["id"] for c in page["items"]] == ids[::-1][:2]
    rest = (
        await client.get(f"/v1/casts?limit=2&cursor={page['next_cursor']}", headers=caster.headers)
    ).json()
    assert [c["id"] for c in rest["items"]] == [ids[0]]
    assert rest["next_cursor"] is None
    assert (await client.get("/v1/casts?limit=0", headers=caster.headers)).status_code == 422
    assert (await client.get("/v1/casts?status=done", headers=caster.headers)).status_code == 422


async def test_events_stream_every_step_and_resume_after_last_event_id(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path)
    cast = (
        await client.post(
            "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "ev"), json={"input": {"name": "a"}}
        )
    ).json()
    stream = await client.get(f"/v1/casts/{cast['id']}/events", headers=caster.headers)
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = [line.split(": ", 1)[1] for line in stream.text.splitlines() if line.startswith("event: ")]
    assert events == ["queued", "running", "succeeded"]
    resumed = await client.get(
        f"/v1/casts/{cast['id']}/events", headers={**caster.headers, "Last-Event-ID": "2"}
    )
    assert [line for line in resumed.text.splitlines() if line.startswith("id: ")] == ["id: 3"]
    garbage = await client.get(
        f"/v1/casts/{cast['id']}/events", headers={**caster.headers, "Last-Event-ID": "abc"}
    )
    assert garbage.status_code == 422
    missing = await client.get("/v1/casts/cast_nope/events", headers=caster.headers)
    assert missing.json()["error"]["code"] == "CAST_NOT_FOUND"


async def _until(platform: Platform, cast_id: str, check: Callable[[], bool]) -> None:
    with anyio.fail_after(10):
        while not check():
            await platform.casts.hub.wait(cast_id, 0.2)


async def test_canceling_a_running_wasm_cast_stops_it_and_frees_the_worker(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(
        client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=30_000
    )
    cast = (
        await client.post(
            "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "spin"), json={"input": {}}
        )
    ).json()
    await _until(platform, cast["id"], lambda: platform.casts.get_status(cast["id"]) == "running")
    canceled = await client.post(f"/v1/casts/{cast['id']}/cancel", headers=caster.headers)
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    await _until(platform, cast["id"], lambda: not platform.casts.cancels.is_running(cast["id"]))
    final = (await client.get(f"/v1/casts/{cast['id']}", headers=caster.headers)).json()
    assert final["status"] == "canceled"
    assert final["usage"]["wall_ms"] < 10_000
    again = await client.post(f"/v1/casts/{cast['id']}/cancel", headers=caster.headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ALREADY_TERMINAL"


async def test_a_failed_cast_can_be_retried_once_and_a_success_cannot(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=100)
    failed = (
        await client.post(
            "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "to", 10), json={"input": {}}
        )
    ).json()
    assert failed["status"] == "timeout"
    assert failed["error"]["code"]
    retry = await client.post(f"/v1/casts/{failed['id']}/retry", headers=caster.headers)
    assert retry.status_code == 202
    assert retry.json()["retry_of"] == failed["id"]
    original = (await client.get(f"/v1/casts/{failed['id']}", headers=caster.headers)).json()
    assert original["retried_by"] == retry.json()["id"]
    twice = await client.post(f"/v1/casts/{failed['id']}/retry", headers=caster.headers)
    assert twice.json()["error"]["code"] == "NOT_RETRYABLE"
    done = (await client.get(f"/v1/casts/{retry.json()['id']}?wait=10", headers=caster.headers)).json()
    assert done["status"] == "timeout"


async def test_a_succeeded_cast_is_not_retryable(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path)
    cast = (
        await client.post(
            "/v1/spells/acme/hello/cast",
            headers=_cast_headers(caster, "ok", 10),
            json={"input": {"name": "a"}},
        )
    ).json()
    response = await client.post(f"/v1/casts/{cast['id']}/retry", headers=caster.headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NOT_RETRYABLE"


async def test_two_hundred_concurrent_casts_on_twenty_keys_make_exactly_twenty_casts(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path)

    async def one(index: int) -> httpx.Response:
        key = f"burst-{index % 20}"
        return await client.post(
            "/v1/spells/acme/hello/cast",
            headers=_cast_headers(caster, key),
            json={"input": {"name": f"n{index % 20}"}},
        )

    responses = await asyncio.gather(*(one(i) for i in range(200)))
    assert all(r.status_code in {200, 202} for r in responses), {r.status_code for r in responses}
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 20
    assert sum(r.json()["idempotent_replay"] for r in responses) == 180
    for cast_id in ids:
        done = (await client.get(f"/v1/casts/{cast_id}?wait=30", headers=caster.headers)).json()
        assert done["status"] == "succeeded"
    with platform.db.unit_of_work(write=False) as uow:
        started = uow.session.scalar(
            select(func.count()).select_from(Cast).where(Cast.started_at.is_not(None))
        )
        assert counts.exact(uow.session, "acme/hello") == 20  # concurrent creations never lose an increment
    assert started == 20
    platform.sweep()  # its fold moves them all into the spell's row
    with platform.db.unit_of_work(write=False) as uow:
        spell = uow.session.get(Spell, "acme/hello")
        assert spell is not None
        assert spell.cast_count == 20
        assert counts.exact(uow.session, "acme/hello") == 20


async def test_the_event_stream_sends_heartbeats_while_a_cast_runs_and_closes_at_its_end(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=600)
    cast = (
        await client.post(
            "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "hb"), json={"input": {}}
        )
    ).json()
    with anyio.fail_after(20):
        stream = await client.get(f"/v1/casts/{cast['id']}/events", headers=caster.headers)
    assert ": heartbeat" in stream.text
    assert stream.text.rstrip().splitlines()[-1].startswith("data: ")
    assert "event: timeout" in stream.text


async def test_a_cancel_that_keeps_losing_the_race_is_a_conflict(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster = await _ready(
        client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=30_000
    )
    cast = (
        await client.post(
            "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "race"), json={"input": {}}
        )
    ).json()
    real = platform.casts.repo.end
    monkeypatch.setattr(platform.casts.repo, "end", lambda *_a, **_k: False)
    response = await client.post(f"/v1/casts/{cast['id']}/cancel", headers=caster.headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    monkeypatch.setattr(platform.casts.repo, "end", real)
    assert (await client.post(f"/v1/casts/{cast['id']}/cancel", headers=caster.headers)).status_code == 200


async def test_concurrent_retries_of_one_cast_make_exactly_one_new_cast(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=100)
    failed = (
        await client.post(
            "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "rr", 10), json={"input": {}}
        )
    ).json()
    responses = await asyncio.gather(
        *(client.post(f"/v1/casts/{failed['id']}/retry", headers=caster.headers) for _ in range(6))
    )
    assert sorted(r.status_code for r in responses) == [202] + [409] * 5
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"NOT_RETRYABLE"}


async def test_a_retry_that_finds_a_concurrent_retrys_cast_is_not_retryable(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=100)
    failed = (
        await client.post(
            "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "rr1", 10), json={"input": {}}
        )
    ).json()
    assert (await client.post(f"/v1/casts/{failed['id']}/retry", headers=caster.headers)).status_code == 202
    # What a second retry sees when it read the old cast before the first one committed.
    with platform.db.unit_of_work() as uow:
        uow.session.execute(update(Cast).where(Cast.id == failed["id"]).values(retried_by=None))
    response = await client.post(f"/v1/casts/{failed['id']}/retry", headers=caster.headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NOT_RETRYABLE"


async def test_a_redelivered_job_aborts_a_cast_whose_worker_was_lost_long_ago(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path)
    ids = []
    for key in ("lost", "recent", "here"):
        response = await client.post(
            "/v1/spells/acme/hello/cast",
            headers=_cast_headers(caster, key, 10),
            json={"input": {"name": key}},
        )
        ids.append(response.json()["id"])
    lost, recent, here = ids
    with platform.db.unit_of_work() as uow:
        for cast_id, age in (
            (lost, timedelta(hours=1)),
            (recent, timedelta(seconds=1)),
            (here, timedelta(hours=1)),
        ):
            uow.session.execute(
                update(Cast).where(Cast.id == cast_id).values(status="running", started_at=utcnow() - age)
            )
    platform.casts.cancels.open(here)  # still running in this process: never orphaned
    try:
        for cast_id in ids:
            platform.runner(Job(name="cast.run", id=cast_id, payload={"cast_id": cast_id}))
    finally:
        platform.casts.cancels.close(here)
    statuses = {cast_id: platform.casts.get_status(cast_id) for cast_id in ids}
    assert statuses == {lost: "aborted", recent: "running", here: "running"}
    events = (await client.get(f"/v1/casts/{lost}/events", headers=caster.headers)).text
    assert "event: aborted" in events


async def test_the_sweep_aborts_casts_left_running_by_a_dead_process_and_nothing_else(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path)
    ids = []
    for key in ("dead", "young", "alive", "done"):
        response = await client.post(
            "/v1/spells/acme/hello/cast",
            headers=_cast_headers(caster, key, 10),
            json={"input": {"name": key}},
        )
        ids.append(response.json()["id"])
    dead, young, alive, done = ids
    with platform.db.unit_of_work() as uow:
        for cast_id, age in (
            (dead, timedelta(hours=1)),
            (young, timedelta(seconds=1)),
            (alive, timedelta(hours=1)),
        ):
            uow.session.execute(
                update(Cast).where(Cast.id == cast_id).values(status="running", started_at=utcnow() - age)
            )
    platform.casts.cancels.open(alive)  # running in this process: not an orphan
    try:
        assert platform.recovery.sweep_orphans() == 2  # the two old enough to look; "alive" is kept
    finally:
        platform.casts.cancels.close(alive)
    statuses = {cast_id: platform.casts.get_status(cast_id) for cast_id in ids}
    assert statuses == {dead: "aborted", young: "running", alive: "running", done: "succeeded"}
    assert platform.recovery.sweep_orphans() == 1  # only "alive" is still old and running


async def test_with_sibling_processes_an_event_stream_notices_an_end_it_was_not_told_of(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster = await _ready(
        client, platform, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, timeout_ms=30_000
    )
    monkeypatch.setattr(
        platform, "settings", dataclasses.replace(platform.settings, processes=2, sse_heartbeat_seconds=30)
    )
    cast = (
        await client.post(
            "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "sib"), json={"input": {}}
        )
    ).json()
    with anyio.fail_after(10):
        while platform.casts.get_status(cast["id"]) != "running":
            await anyio.sleep(0.02)

    async def ended_elsewhere() -> None:
        await anyio.sleep(0.3)
        # what a sibling process's cancel leaves behind: the row and event, and no wake-up here
        with platform.db.unit_of_work() as uow:
            platform.casts.repo.transition(uow, cast["id"], from_status="running", status="canceled")
            platform.casts.repo.add_event(uow, cast["id"], "canceled", {"status": "canceled"})

    async with anyio.create_task_group() as group:
        group.start_soon(ended_elsewhere)
        with anyio.fail_after(5):  # the heartbeat is 30 s: the stream re-read on its own
            stream = await client.get(f"/v1/casts/{cast['id']}/events", headers=caster.headers)
    assert "event: canceled" in stream.text
    platform.casts.cancels.cancel(cast["id"])  # stop the sandbox this test left running


async def test_the_custom_method_form_casts_and_shares_idempotency_with_the_path_form(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    headers = {**maker.headers, "Idempotency-Key": "k-colon", "Prefer": "wait=10"}
    first = await client.post("/v1/spells/acme/hello:cast", headers=headers, json={"input": {"name": "a"}})
    assert first.status_code == 200, first.text
    assert first.json()["output"] == {"greeting": "hello", "input": {"name": "a"}}
    again = await client.post("/v1/spells/acme/hello/cast", headers=headers, json={"input": {"name": "a"}})
    assert again.json()["id"] == first.json()["id"]
    other = {**headers, "Idempotency-Key": "k-missing"}
    missing = await client.post("/v1/spells/acme/nope:cast", headers=other, json={"input": {}})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "SPELL_NOT_FOUND"


async def test_a_request_replayed_after_its_spell_was_suspended_still_gets_its_cast(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    # PostgreSQL looks the key up only when the cast cannot be made: the replay must not depend on it.
    caster = await _ready(client, platform, tmp_path)
    first = await client.post(
        "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "s", 10), json={"input": {"name": "a"}}
    )
    operator = seed_user(platform, "op@example.com", ["operator"])
    suspended = await client.post(
        "/v1/admin/spells/acme/hello/suspend", headers=operator.headers, json={"reason": "abuse"}
    )
    assert suspended.status_code == 200, suspended.text
    again = await client.post(
        "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "s", 10), json={"input": {"name": "a"}}
    )
    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["idempotent_replay"]) == (first.json()["id"], True)
    other = await client.post(
        "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "s", 10), json={"input": {"name": "b"}}
    )
    assert other.json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    fresh = await client.post(
        "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "t", 10), json={"input": {"name": "a"}}
    )
    assert fresh.json()["error"]["code"] == "SPELL_SUSPENDED"


async def test_concurrent_waiting_casts_on_one_key_run_once_and_replay_the_winner(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _ready(client, platform, tmp_path)
    warm = await client.post(  # the spell's module loads: later casts take the quick attempt
        "/v1/spells/acme/hello/cast", headers=_cast_headers(caster, "warm", 10), json={"input": {"name": "w"}}
    )
    assert warm.json()["status"] == "succeeded"

    async def one(index: int) -> httpx.Response:
        return await client.post(
            "/v1/spells/acme/hello/cast",
            headers=_cast_headers(caster, f"same-{index % 3}", 20),
            json={"input": {"name": f"n{index % 3}"}},
        )

    responses = await asyncio.gather(*(one(i) for i in range(24)))
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses if r.status_code != 200]
    by_key: dict[str, set[str]] = {}
    for index, response in enumerate(responses):
        by_key.setdefault(f"same-{index % 3}", set()).add(response.json()["id"])
    assert all(len(ids) == 1 for ids in by_key.values())
    assert sum(not r.json()["idempotent_replay"] for r in responses) == 3
    with platform.db.unit_of_work(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Cast)) == 4  # with the warm-up
        assert counts.exact(uow.session, "acme/hello") == 4
        for ids in by_key.values():
            [cast_id] = ids
            events = uow.session.scalars(
                select(CastEvent.type).where(CastEvent.cast_id == cast_id).order_by(CastEvent.seq)
            )
            assert list(events) == ["queued", "running", "succeeded"]  # ran once
