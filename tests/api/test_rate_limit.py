"""Cast rate limits, on by default: per credential and per tenant (all its keys together), one sliding
window in memory and in Redis, ``RateLimit-*`` headers on answers, 429 ``RATE_LIMITED`` with
``Retry-After``.

The window's clock is pinned (``limits`` reads ``time.time``): a count never straddles two minutes,
whose weighting would make the exact number of admitted casts depend on when the test runs.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from spell.api import create_app
from spell.api.app import _limiter
from spell.config.server import ServerSettings
from spell.errors import Overloaded
from spell.models import User
from spell.platform.ratelimit.errors import CastRateLimited
from spell.platform.ratelimit.limiter import Quota, RateLimiter
from spell.platform.server import Platform
from tests.fixtures.database import service_unavailable
from tests.fixtures.server import Caller, publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio

REDIS_URL = os.environ.get("SPELL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMITER = "spell.platform.ratelimit.limiter"  # reads the same clock for the seconds to reset
MISSING = "/v1/spells/acme/missing/cast"  # counted before the spell is looked up: a cheap cast request


class PinnedClock:
    """``time`` for the ``limits`` modules: the middle of a minute, moved only by the test."""

    def __init__(self) -> None:
        self.now = float(int(time.time()) // 60 * 60 + 30)

    def time(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    pinned = PinnedClock()
    for module in ("limits.strategies", "limits.storage.memory", "limits.storage.redis", LIMITER):
        monkeypatch.setattr(f"{module}.time", pinned)
    return pinned


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    """The defaults of a fresh server: no rate-limit setting given."""
    return ServerSettings.for_home(tmp_path / "home", database_url=database_url, secret_key="s", workers=2)


@asynccontextmanager
async def app_client(platform: Platform, settings: ServerSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, platform=platform, manage=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://spell.test"
    ) as http:
        yield http


def add_key(platform: Platform, caller: Caller, name: str) -> Caller:
    """Another key of the same user (same tenant)."""
    with platform.db.unit_of_work() as uow:
        user = uow.session.get(User, caller.user_id)
        assert user is not None
        created = platform.auth.create_key(uow, user, name=name)
    return Caller(user_id=caller.user_id, tenant_id=caller.tenant_id, token=created.token)


async def cast_missing(http: httpx.AsyncClient, caller: Caller, key: str) -> httpx.Response:
    return await http.post(MISSING, json={"input": {}}, headers={**caller.headers, "Idempotency-Key": key})


async def test_a_fresh_server_answers_429_after_the_default_limit_with_headers(
    client: httpx.AsyncClient, platform: Platform, server_settings: ServerSettings
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    limit = server_settings.rate_limit_per_minute
    assert limit > 0
    first = await cast_missing(client, caster, "k0")
    assert first.status_code == 404
    assert first.headers["ratelimit-limit"] == str(limit)
    assert first.headers["ratelimit-remaining"] == str(limit - 1)
    assert 1 <= int(first.headers["ratelimit-reset"]) <= 60
    assert (
        first.headers["ratelimit-policy"]
        == f"{limit};w=60, {server_settings.tenant_rate_limit_per_minute};w=60"
    )
    for index in range(1, limit):
        assert (await cast_missing(client, caster, f"k{index}")).status_code == 404
    refused = await cast_missing(client, caster, "over")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "RATE_LIMITED"
    assert error["details"]["scope"] == "credential"
    assert int(refused.headers["retry-after"]) == error["retry_after"] >= 1
    assert refused.headers["ratelimit-remaining"] == "0"
    assert "ratelimit-limit" not in (await client.get("/v1/casts", headers=caster.headers)).headers
    assert (await client.get("/v1/casts", headers=caster.headers)).status_code == 200  # reads are not limited


async def test_one_key_over_its_limit_leaves_the_other_keys_of_its_tenant_casting(
    platform: Platform, server_settings: ServerSettings, tmp_path: Path
) -> None:
    settings = dataclasses.replace(server_settings, rate_limit_per_minute=2, tenant_rate_limit_per_minute=100)
    async with app_client(platform, settings) as http:
        maker = await seed_maker(http, platform)
        await publish(http, maker, tmp_path)
        second = add_key(platform, maker, "second")
        for index in range(2):
            response = await http.post(
                "/v1/spells/acme/hello/cast",
                json={"input": {"name": "r"}},
                headers={**maker.headers, "Idempotency-Key": f"r{index}", "Prefer": "wait=5"},
            )
            assert response.status_code == 200, response.text
        refused = await cast_missing(http, maker, "r2")
        assert refused.status_code == 429
        assert refused.json()["error"]["details"] == {"scope": "credential", "limit": 2, "window_seconds": 60}
        assert (await cast_missing(http, second, "s0")).status_code == 404  # its own window
        # a retry creates a cast: it counts too
        cast_id = response.json()["id"]
        retried = await http.post(f"/v1/casts/{cast_id}/retry", headers=maker.headers)
        assert retried.status_code == 429
        assert retried.json()["error"]["code"] == "RATE_LIMITED"


async def test_ten_keys_of_one_tenant_share_the_tenant_limit(
    platform: Platform, server_settings: ServerSettings
) -> None:
    settings = dataclasses.replace(server_settings, rate_limit_per_minute=3, tenant_rate_limit_per_minute=5)
    async with app_client(platform, settings) as http:
        owner = seed_user(platform, "owner@example.com", ["caster"])
        keys = [owner] + [add_key(platform, owner, f"k{n}") for n in range(9)]
        statuses = [
            (await cast_missing(http, key, f"{n}-{round_}")).status_code
            for round_ in range(3)
            for n, key in enumerate(keys)
        ]
        assert statuses.count(404) == 5  # not 10 x 3
        assert statuses.count(429) == 25
        fresh = add_key(platform, owner, "fresh")  # a key minted now buys nothing either
        refused = await cast_missing(http, fresh, "last")
        assert refused.json()["error"]["details"]["scope"] == "tenant"
        assert refused.headers["ratelimit-limit"] == "5"
        other = seed_user(platform, "other@example.com", ["caster"])  # another tenant has its own share
        assert (await cast_missing(http, other, "o")).status_code == 404


def _outcomes(limiter: RateLimiter) -> list[object]:
    """Two keys of one tenant and a key of another, hitting in a fixed order."""
    seen: list[object] = []
    for credential, tenant in [("a", "t1"), ("a", "t1"), ("b", "t1"), ("a", "t1"), ("b", "t1"), ("c", "t2")]:
        try:
            quota = limiter.hit(credential=credential, tenant_id=tenant)
        except CastRateLimited as exc:
            seen.append(("refused", exc.quota.scope, exc.quota.limit, exc.quota.remaining))
        else:
            assert quota is not None
            seen.append((quota.scope, quota.limit, quota.remaining))
    return seen


def _redis_or_skip(prefix: str) -> RateLimiter:
    limiter = RateLimiter(REDIS_URL, per_credential=2, per_tenant=3, prefix=prefix)
    try:
        limiter.hit(credential="probe", tenant_id="probe")
    except Overloaded as exc:
        service_unavailable(f"Redis not reachable at {REDIS_URL}: {exc}")
    return limiter


def test_memory_and_redis_count_the_same() -> None:
    shared = _redis_or_skip(f"test-{secrets.token_hex(4)}")
    expected = [
        ("credential", 2, 1),
        ("credential", 2, 0),
        ("tenant", 3, 0),  # b has one cast left of its own, the tenant none: the answer shows the tightest
        ("refused", "credential", 2, 0),
        ("refused", "tenant", 3, 0),  # b is under its own limit, its tenant is not
        ("credential", 2, 1),  # another tenant
    ]
    assert _outcomes(RateLimiter.in_memory(per_credential=2, per_tenant=3)) == expected
    assert _outcomes(shared) == expected


def test_redis_counts_across_processes_and_an_outage_is_overloaded() -> None:
    first = _redis_or_skip(f"test-{secrets.token_hex(4)}")
    second = RateLimiter(REDIS_URL, per_credential=2, per_tenant=3, prefix=first.prefix)
    first.hit(credential="k", tenant_id="t")
    second.hit(credential="k", tenant_id="t")
    with pytest.raises(CastRateLimited) as refused:
        first.hit(credential="k", tenant_id="t")
    assert refused.value.code == "RATE_LIMITED"
    assert 1 <= (refused.value.retry_after or 0) <= 60
    down = RateLimiter("redis://127.0.0.1:9/0", per_credential=5, per_tenant=0)
    with pytest.raises(Overloaded) as outage:
        down.hit(credential="k", tenant_id="t")
    assert outage.value.code == "OVERLOADED"


def test_a_refused_credential_casts_again_once_the_window_moved_on(clock: PinnedClock) -> None:
    limiter = RateLimiter.in_memory(per_credential=2, per_tenant=0)
    limiter.hit(credential="k", tenant_id="t")
    limiter.hit(credential="k", tenant_id="t")
    with pytest.raises(CastRateLimited) as refused:
        limiter.hit(credential="k", tenant_id="t")
    assert refused.value.retry_after == 30  # the end of this minute's counter
    clock.now += 45  # half of the last minute's casts still count: one of two left
    assert limiter.hit(credential="k", tenant_id="t") == Quota("credential", 2, 0, 15)
    clock.now += 60
    assert limiter.hit(credential="k", tenant_id="t") is not None


def test_limits_of_zero_are_off_and_negative_ones_are_refused() -> None:
    off = RateLimiter.in_memory(per_credential=0, per_tenant=0)
    assert not off.is_on
    assert off.hit(credential="k", tenant_id="t") is None
    tenant_only = RateLimiter.in_memory(per_credential=0, per_tenant=1)
    assert tenant_only.hit(credential="k", tenant_id="t") == Quota("tenant", 1, 0, 30)
    with pytest.raises(ValueError, match="0 \\(off\\) or more"):
        RateLimiter.in_memory(per_credential=-1, per_tenant=0)


def test_each_process_counts_its_share_in_memory_and_the_whole_limit_in_redis(tmp_path: Path) -> None:
    four = ServerSettings.for_home(
        tmp_path, processes=4, rate_limit_per_minute=8, tenant_rate_limit_per_minute=0
    )
    share = _limiter(four)
    share.hit(credential="k", tenant_id="t")
    share.hit(credential="k", tenant_id="t")
    with pytest.raises(CastRateLimited):
        share.hit(credential="k", tenant_id="t")  # 8 // 4 processes
    _redis_or_skip(f"test-{secrets.token_hex(4)}")
    shared = _limiter(dataclasses.replace(four, rate_limit_url=REDIS_URL))
    credential = f"k-{secrets.token_hex(4)}"
    for _ in range(8):
        shared.hit(credential=credential, tenant_id="t")
    with pytest.raises(CastRateLimited):
        shared.hit(credential=credential, tenant_id="t")


async def _ticks_while(work: Any) -> tuple[Any, int]:
    """What ``work`` (awaited) gave, and how often the loop ran another task meanwhile."""
    ticks = 0
    done = False

    async def tick() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(tick)
        try:
            result = await work
        finally:
            done = True
    return result, ticks


async def test_a_slow_shared_store_holds_its_request_not_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limiter = _redis_or_skip(f"test-{secrets.token_hex(4)}")
    hit = limiter._strategy.hit
    threads: list[str] = []

    def slow_hit(*args: Any) -> bool:
        threads.append(threading.current_thread().name)
        time.sleep(0.3)  # a slow Redis: each of the two limits waits this long
        return hit(*args)

    monkeypatch.setattr(limiter._strategy, "hit", slow_hit)
    quota, ticks = await _ticks_while(limiter.hit_on_loop(credential="k", tenant_id="t"))
    assert quota is not None
    assert quota.scope == "credential"
    assert ticks >= 20  # the loop went on serving through 0.6 s of waiting
    assert threading.current_thread().name not in threads


async def test_counting_in_memory_stays_on_the_loop_and_an_unreachable_store_is_overloaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memory = RateLimiter.in_memory(per_credential=1, per_tenant=0)
    strategy_hit = memory._strategy.hit
    threads: list[str] = []

    def spy(*args: Any) -> bool:
        threads.append(threading.current_thread().name)
        return strategy_hit(*args)

    monkeypatch.setattr(memory._strategy, "hit", spy)
    quota = await memory.hit_on_loop(credential="k", tenant_id="t")
    assert quota is not None
    assert (quota.scope, quota.remaining) == ("credential", 0)
    with pytest.raises(CastRateLimited):
        await memory.hit_on_loop(credential="k", tenant_id="t")
    assert threads == [threading.current_thread().name] * 2
    down = RateLimiter("redis://127.0.0.1:9/0", per_credential=5, per_tenant=0)
    with pytest.raises(Overloaded):
        await down.hit_on_loop(credential="k", tenant_id="t")
