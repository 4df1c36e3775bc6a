"""One terminal writer: a cast ends exactly once, whoever tries second; its hold is released once,
one terminal event is written, waiters and the webhook hear of it; the sweep ends lost casts by the
clock, and the start-up recovery through the same writer."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from spell.kit.clock import FakeClock
from spell.models import Cast, CastEvent, CastStatus, WebhookDelivery
from spell.platform.cast.ending import lost, platform_fault
from spell.platform.cast.recovery import ORPHAN_GRACE_S
from spell.platform.server import Platform
from tests.api.money_helpers import FLAT, credit, hold_and_balance, publish_priced
from tests.fixtures.server import Caller, seed_maker, seed_user

pytestmark = pytest.mark.anyio

FULL = 1_000_000
PRICE = 250_000
LIMIT_MS = 20_000  # the spell's time limit (under the operator's maximum)


async def _lost_cast(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> tuple[Caller, str]:
    """A paid cast whose job never reached the queue: it stays ``queued`` with its money held."""
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT, timeout_ms=LIMIT_MS)
    caster = seed_user(platform, "caster@example.com", ["caster"])
    credit(platform, caster.user_id, FULL)
    published = platform.queue.publish
    platform.queue.publish = lambda job: None  # type: ignore[method-assign]
    try:
        response = await client.post(
            "/v1/spells/acme/paid/cast",
            headers={**caster.headers, "Idempotency-Key": "lost"},
            json={"input": {"name": "x"}},
        )
    finally:
        platform.queue.publish = published  # type: ignore[method-assign]
    assert response.status_code == 202, response.text
    return caster, str(response.json()["id"])


def _set(platform: Platform, cast_id: str, **values: Any) -> None:
    with platform.db.unit_of_work() as uow:
        uow.session.execute(update(Cast).where(Cast.id == cast_id).values(**values))


def _cast(platform: Platform, cast_id: str) -> Cast:
    with platform.db.unit_of_work(write=False) as uow:
        cast = uow.session.get(Cast, cast_id)
        assert cast is not None
        uow.session.expunge(cast)
        return cast


def _events(platform: Platform, cast_id: str) -> list[tuple[str, dict[str, Any]]]:
    with platform.db.unit_of_work(write=False) as uow:
        rows = uow.session.scalars(
            select(CastEvent).where(CastEvent.cast_id == cast_id).order_by(CastEvent.seq)
        )
        return [(row.type, dict(row.data)) for row in rows]


async def test_a_cast_ends_once_and_a_second_ender_writes_nothing(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster, cast_id = await _lost_cast(client, platform, tmp_path)
    assert hold_and_balance(platform, cast_id, caster.user_id) == ("held", FULL - PRICE)
    canceled = await client.post(f"/v1/casts/{cast_id}/cancel", headers=caster.headers)
    assert canceled.json()["status"] == "canceled"
    ending = platform.casts.parts.ending
    with platform.db.unit_of_work() as uow:
        assert ending.end(uow, _cast(platform, cast_id), lost("late"), from_status=CastStatus.QUEUED) is None
        assert ending.end(uow, _cast(platform, cast_id), platform_fault()) is None
    assert _cast(platform, cast_id).status == "canceled"
    assert [kind for kind, _ in _events(platform, cast_id)] == ["queued", "canceled"]
    assert hold_and_balance(platform, cast_id, caster.user_id) == ("released", FULL)


async def test_of_two_enders_of_a_running_cast_the_first_one_counts(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, clock: FakeClock
) -> None:
    caster, cast_id = await _lost_cast(client, platform, tmp_path)
    _set(platform, cast_id, status="running", started_at=clock.now())
    clock.advance(2)
    ending = platform.casts.parts.ending
    with platform.db.unit_of_work() as uow:
        written = ending.end(uow, _cast(platform, cast_id), platform_fault())
    assert written is not None
    with platform.db.unit_of_work() as uow:
        assert ending.end(uow, _cast(platform, cast_id), lost("too late")) is None
    ended = _cast(platform, cast_id)
    assert (ended.status, ended.error_code, ended.finished_at) == ("failed", "INTERNAL", clock.now())
    assert _events(platform, cast_id)[-1] == (
        "failed",
        {"status": "failed", "error_code": "INTERNAL", "artifacts": 0},
    )
    assert [kind for kind, _ in _events(platform, cast_id)].count("failed") == 1
    assert hold_and_balance(platform, cast_id, caster.user_id) == ("released", FULL)


async def test_the_sweep_aborts_a_lost_running_cast_once_its_limit_and_the_grace_passed_on_the_clock(
    client: httpx.AsyncClient,
    platform: Platform,
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    caster, cast_id = await _lost_cast(client, platform, tmp_path)
    hook = "https://hooks.example.com/spell"
    _set(platform, cast_id, status="running", started_at=clock.now(), webhook_url=hook)
    platform.casts.webhooks = None  # deliveries stay in the outbox, where the test reads them

    def sent() -> list[tuple[str, str]]:
        with platform.db.unit_of_work(write=False) as uow:
            rows = uow.session.scalars(select(WebhookDelivery).where(WebhookDelivery.url == hook))
            return [(row.url, row.payload["data"]["id"]) for row in rows]

    clock.advance(LIMIT_MS / 1000 + ORPHAN_GRACE_S - 1)
    platform.sweep()
    assert _cast(platform, cast_id).status == "running"  # its limit and the grace are not over yet
    assert sent() == []
    clock.advance(2)
    platform.sweep()
    ended = _cast(platform, cast_id)
    assert (ended.status, ended.error_code) == ("aborted", "INTERNAL")
    assert ended.error_message == "the worker running this cast was lost"
    assert ended.finished_at == clock.now()
    assert _events(platform, cast_id)[-1] == ("aborted", {"status": "aborted", "error_code": "INTERNAL"})
    assert hold_and_balance(platform, cast_id, caster.user_id) == ("released", FULL)
    assert sent() == [(hook, cast_id)]  # a webhook hears of every end, an abort too
    platform.sweep()
    assert sent() == [(hook, cast_id)]


async def test_recovery_at_start_ends_what_a_stopped_server_left_running_through_the_same_writer(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, clock: FakeClock
) -> None:
    caster, cast_id = await _lost_cast(client, platform, tmp_path)
    _set(platform, cast_id, status="running", started_at=clock.now() - timedelta(seconds=1))
    platform.recover()
    ended = _cast(platform, cast_id)
    assert (ended.status, ended.error_message) == ("aborted", "the server stopped while the cast ran")
    assert _events(platform, cast_id)[-1] == ("aborted", {"status": "aborted", "error_code": "INTERNAL"})
    assert hold_and_balance(platform, cast_id, caster.user_id) == ("released", FULL)
    platform.recover()  # a second start finds nothing left to end
    assert [kind for kind, _ in _events(platform, cast_id)].count("aborted") == 1
