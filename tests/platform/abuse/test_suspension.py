"""Automatic suspension: violations of one subject within the window (on the injected clock) reach the
threshold, the subject is suspended exactly once, audited, and its maker is told; older or cleared
violations do not count."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from spell.config.abuse import AbuseSettings
from spell.kit.clock import FakeClock
from spell.models import PolicyViolation
from spell.platform.abuse.service import AbuseService, Violation
from spell.platform.server import Platform
from tests.fakes.webhook_receiver import Receiver
from tests.fixtures.server import Caller, publish, seed_maker, seed_user
from tests.platform.abuse.helpers import THRESHOLD, audits, notices, violations

pytestmark = pytest.mark.anyio

HOUR = 3600.0


def _record(platform: Platform, violation: Violation) -> PolicyViolation | None:
    with platform.db.unit_of_work() as uow:
        return platform.abuse.record(uow, violation)


def _spell_violation() -> Violation:
    return Violation("limit", "spell", "acme/hello", details={"code": "FUEL_EXHAUSTED"})


async def _cast(client: httpx.AsyncClient, caller: Caller, key: str) -> httpx.Response:
    headers = {**caller.headers, "Idempotency-Key": key, "Prefer": "wait=20"}
    return await client.post("/v1/spells/acme/hello/cast", headers=headers, json={"input": {"name": "x"}})


async def test_the_threshold_suspends_a_spell_once_counting_only_the_window_on_the_injected_clock(
    client: httpx.AsyncClient, platform: Platform, clock: FakeClock, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    caster = seed_user(platform, "caster@example.com", ["caster"])
    for _ in range(THRESHOLD - 1):
        _record(platform, _spell_violation())
    clock.advance(24 * HOUR + 1)  # those two fall out of the window
    for _ in range(THRESHOLD - 1):
        row = _record(platform, _spell_violation())
        assert row is not None
        assert not row.suspended
    assert (await _cast(client, caster, "before")).status_code in (200, 201)

    clock.advance(HOUR)
    reaching = _record(platform, _spell_violation())
    assert reaching is not None
    assert reaching.suspended
    for _ in range(2):  # later ones find the spell suspended already
        later = _record(platform, _spell_violation())
        assert later is not None
        assert not later.suspended

    refused = await _cast(client, caster, "after")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "SPELL_SUSPENDED"
    assert "3 policy violations within 24 hours" in refused.json()["error"]["details"]["reason"]
    assert [v.suspended for v in violations(platform)].count(True) == 1
    (suspended,) = audits(platform, "spell.suspended")
    assert (suspended.subject, suspended.actor_id) == ("acme/hello", None)
    (abuse,) = audits(platform, "abuse.suspended")
    assert abuse.data["violations"] == THRESHOLD
    (notice,) = notices(platform)
    assert (notice.publisher, notice.spell_id, notice.version, notice.kind) == (
        "acme",
        "acme/hello",
        "1.0.0",
        "suspended",
    )


async def test_the_maker_is_told_by_a_signed_webhook_once_the_suspension_committed(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    receiver = Receiver()
    try:
        maker = await seed_maker(client, platform)
        hooked = await client.put(
            "/v1/publishers/acme/webhook", headers=maker.headers, json={"url": receiver.url}
        )
        assert hooked.status_code == 200, hooked.text
        await publish(client, maker, tmp_path)
        for _ in range(THRESHOLD):
            _record(platform, _spell_violation())
        assert receiver.arrived.wait(10)
        headers, body = receiver.requests[0]
        assert headers["Spell-Event"] == "supply.suspended"
        assert json.loads(body)["data"]["spell_id"] == "acme/hello"
        listed = (await client.get("/v1/publishers/acme/notices", headers=maker.headers)).json()["items"]
        assert [n["kind"] for n in listed] == ["suspended"]
    finally:
        receiver.close()


async def test_a_user_reaching_the_threshold_is_suspended_with_a_clear_403_and_their_publisher_told(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    maker = await seed_maker(client, platform)
    for _ in range(THRESHOLD):
        _record(
            platform, Violation("signature", "user", maker.user_id, details={"code": "SIGNATURE_MISSING"})
        )

    response = await client.get("/v1/me", headers=maker.headers)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "USER_BANNED"
    assert error["details"]["reason"].startswith("suspended automatically")
    (banned,) = audits(platform, "user.banned")
    assert banned.subject == maker.user_id
    (notice,) = notices(platform)
    assert (notice.publisher, notice.kind, notice.details["subject_id"]) == (
        "acme",
        "suspended",
        maker.user_id,
    )


async def test_reinstatement_clears_the_count_so_the_next_violation_does_not_suspend_again(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    for _ in range(THRESHOLD):
        _record(platform, _spell_violation())
    with platform.db.unit_of_work() as uow:
        done = platform.abuse.reinstate(uow, None, "spell", "acme/hello", note="fixed")
    assert done.cleared == THRESHOLD

    again = _record(platform, _spell_violation())
    assert again is not None
    assert not again.suspended
    assert [v.cleared_at is not None for v in violations(platform)] == [True] * THRESHOLD + [False]
    (reinstated,) = audits(platform, "abuse.reinstated")
    assert (reinstated.actor_id, reinstated.data["note"], reinstated.data["cleared"]) == (None, "fixed", 3)
    assert len(audits(platform, "spell.unsuspended")) == 1


async def test_a_threshold_of_zero_records_violations_but_never_suspends(
    client: httpx.AsyncClient, platform: Platform, clock: FakeClock, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    never = AbuseService(
        AbuseSettings(suspend_threshold=0),
        platform.spells,
        platform.auth,
        platform.supply_notices,
        platform.audit,
        clock=clock,
    )
    with platform.db.unit_of_work() as uow:
        rows = [never.record(uow, _spell_violation()) for _ in range(THRESHOLD * 2)]
    assert all(row is not None and not row.suspended for row in rows)
    assert audits(platform, "spell.suspended") == []


def test_a_violation_of_a_subject_that_does_not_exist_is_not_recorded(platform: Platform) -> None:
    assert _record(platform, Violation("limit", "spell", "ghost/none")) is None
    assert _record(platform, Violation("rate_limit_storm", "user", "usr_ghost")) is None
    assert violations(platform) == []


async def test_violations_racing_past_the_threshold_suspend_exactly_once(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    racers = THRESHOLD * 3
    start = threading.Barrier(racers)
    failures: list[BaseException] = []

    def race() -> None:
        try:
            start.wait(10)
            _record(platform, _spell_violation())
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert failures == []
    rows = violations(platform)
    assert len(rows) == racers
    assert [row.suspended for row in rows].count(True) == 1
    assert len(audits(platform, "spell.suspended")) == 1
    assert len(audits(platform, "abuse.suspended")) == 1
    assert len(notices(platform)) == 1
