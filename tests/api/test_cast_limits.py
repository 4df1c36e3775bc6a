"""A cast's limits are the ones its runtime enforces: a manifest asking for more than the operator's
maximum is held for, estimated at and given up on (orphan sweep) under the capped limit."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from spell.kit.clock import FakeClock
from spell.models import Cast, Hold
from spell.platform.cast.recovery import ORPHAN_GRACE_S
from spell.platform.server import Platform
from tests.api.money_helpers import credit, publish_priced
from tests.fixtures.clock import clock, platform
from tests.fixtures.server import Caller, seed_maker, seed_user

pytestmark = pytest.mark.anyio

__all__ = ["clock", "platform"]  # fixtures: casts on a fake clock


ASKED_MS = 120_000  # what the manifest asks for; the operator's default maximum is 30 s
PER_MS = 10
METERED = f"pricing:\n  model: metered\n  amount_micros: 1\n  per_compute_ms_micros: {PER_MS}\n"


async def _greedy_spell(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> Caller:
    assert platform.settings.wasm.max_timeout_ms < ASKED_MS
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, METERED, timeout_ms=ASKED_MS)
    caster = seed_user(platform, "caster@example.com", ["caster"])
    credit(platform, caster.user_id, 10**9)
    return caster


async def _lost_cast(client: httpx.AsyncClient, platform: Platform, caster: Caller, key: str) -> str:
    """A cast whose job never reached the queue (its process died right after the commit)."""
    published = platform.queue.publish
    platform.queue.publish = lambda job: None  # type: ignore[method-assign]
    try:
        headers = {**caster.headers, "Idempotency-Key": key}
        response = await client.post(
            "/v1/spells/acme/paid/cast", headers=headers, json={"input": {"name": key}}
        )
    finally:
        platform.queue.publish = published  # type: ignore[method-assign]
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def test_the_estimate_and_the_hold_use_the_operators_maximum_not_the_manifests_ask(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await _greedy_spell(client, platform, tmp_path)
    capped = 1 + PER_MS * platform.settings.wasm.max_timeout_ms

    estimate = await client.post("/v1/spells/acme/paid/estimate", headers=caster.headers, json={})
    assert estimate.status_code == 200, estimate.text
    assert estimate.json()["estimate"]["amount_micros"] == capped

    cast_id = await _lost_cast(client, platform, caster, "held")
    with platform.db.unit_of_work(write=False) as uow:
        hold = uow.session.get(Hold, cast_id)
        assert hold is not None
        assert (hold.status, hold.amount_micros) == ("held", capped)


async def test_the_sweep_gives_up_on_a_lost_cast_once_the_capped_time_limit_and_grace_are_over(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, clock: FakeClock
) -> None:
    caster = await _greedy_spell(client, platform, tmp_path)
    limit_s = platform.settings.wasm.max_timeout_ms / 1000
    overdue = await _lost_cast(client, platform, caster, "overdue")
    with platform.db.unit_of_work() as uow:  # claimed now, then its runner was lost
        uow.session.execute(
            update(Cast).where(Cast.id == overdue).values(status="running", started_at=clock.now())
        )
    clock.advance(limit_s)
    within = await _lost_cast(client, platform, caster, "within")
    with platform.db.unit_of_work() as uow:
        uow.session.execute(
            update(Cast).where(Cast.id == within).values(status="running", started_at=clock.now())
        )
    # overdue: past the capped deadline, well within the asked one; within: old enough to be looked
    # at, still inside its time limit
    clock.advance(ORPHAN_GRACE_S + 10)
    assert platform.recovery.sweep_orphans() == 2  # both were looked at
    assert platform.casts.get_status(overdue) == "aborted"
    assert platform.casts.get_status(within) == "running"
    with platform.db.unit_of_work(write=False) as uow:
        hold = uow.session.get(Hold, overdue)
        assert hold is not None
        assert hold.status == "released"  # lost by the platform: nothing is charged
