"""Key and spell lookups served from memory: changes made here are seen at once, others within the TTL.

The platform's clock is a fake one that moves only when a test advances it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from spell.api.app import create_app
from spell.config.server import ServerSettings
from spell.kit.clock import FakeClock
from spell.kit.time import utcnow
from spell.models import ApiKey
from spell.platform.server import Platform
from tests.fixtures import clock as clock_fixtures
from tests.fixtures.server import Caller, publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio

# This module's platform runs on a fake clock that only the tests move.
clock = clock_fixtures.clock
platform = clock_fixtures.platform


def _cast(caller: Caller, key: str) -> dict[str, str]:
    return {**caller.headers, "Idempotency-Key": key, "Prefer": "wait=10"}


async def _caster(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> tuple[Caller, Caller]:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    return maker, seed_user(platform, "caster@example.com", ["caster"])


async def test_a_revoked_key_is_refused_at_once_even_after_it_was_cached(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caller = seed_user(platform, "someone@example.com", ["caster"])
    assert (await client.get("/v1/me", headers=caller.headers)).status_code == 200
    assert platform.auth.cached_principal(caller.token) is not None
    key_id = (await client.get("/v1/me", headers=caller.headers)).json()["key_id"]
    assert (await client.delete(f"/v1/keys/{key_id}", headers=caller.headers)).status_code == 200
    refused = await client.get("/v1/me", headers=caller.headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "UNAUTHORIZED"


async def test_a_ban_applies_at_once_to_a_cached_key(client: httpx.AsyncClient, platform: Platform) -> None:
    admin = seed_user(platform, "admin@example.com", ["admin"], scopes=["admin", "keys:manage"])
    caller = seed_user(platform, "someone@example.com", ["caster"])
    assert (await client.get("/v1/me", headers=caller.headers)).status_code == 200
    banned = await client.post("/v1/admin/bans", headers=admin.headers, json={"user_id": caller.user_id})
    assert banned.status_code == 201, banned.text
    refused = await client.get("/v1/me", headers=caller.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "USER_BANNED"


async def test_a_change_made_by_another_process_is_seen_within_the_cache_time(
    client: httpx.AsyncClient, platform: Platform, clock: FakeClock
) -> None:
    caller = seed_user(platform, "someone@example.com", ["caster"])
    assert (await client.get("/v1/me", headers=caller.headers)).status_code == 200
    # A plain UPDATE stands for another server process: this process sees no ORM change of it.
    with platform.db.unit_of_work() as uow:
        uow.session.execute(
            update(ApiKey).where(ApiKey.user_id == caller.user_id).values(revoked_at=utcnow())
        )
    assert (await client.get("/v1/me", headers=caller.headers)).status_code == 200  # still cached
    clock.advance(platform.settings.cache_ms / 1000 - 0.001)
    assert (await client.get("/v1/me", headers=caller.headers)).status_code == 200  # not yet expired
    clock.advance(0.002)
    assert (await client.get("/v1/me", headers=caller.headers)).status_code == 401


async def test_with_the_cache_off_every_request_reads_the_key(
    platform: Platform, server_settings: ServerSettings
) -> None:
    settings = replace(server_settings, cache_ms=0)
    uncached = Platform.build(settings, runtimes={}, database=platform.db)
    app = create_app(settings, platform=uncached, manage=False)
    caller = seed_user(platform, "someone@example.com", ["caster"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://spell.test"
    ) as http:
        assert (await http.get("/v1/me", headers=caller.headers)).status_code == 200
        assert uncached.auth.cached_principal(caller.token) is None
        with platform.db.unit_of_work() as uow:
            uow.session.execute(
                update(ApiKey).where(ApiKey.user_id == caller.user_id).values(revoked_at=utcnow())
            )
        assert (await http.get("/v1/me", headers=caller.headers)).status_code == 401


async def test_a_cached_key_that_expires_is_refused(
    client: httpx.AsyncClient, platform: Platform, clock: FakeClock
) -> None:
    caller = seed_user(platform, "someone@example.com", ["caster"])
    # Creating a key refuses an expiry in the past, so give the key one that ends very soon (before
    # its first use: nothing is cached yet).
    with platform.db.unit_of_work() as uow:
        uow.session.execute(
            update(ApiKey)
            .where(ApiKey.user_id == caller.user_id)
            .values(expires_at=clock.now() + timedelta(milliseconds=1500))
        )
    assert (await client.get("/v1/me", headers=caller.headers)).status_code == 200
    assert platform.auth.cached_principal(caller.token) is not None
    clock.advance(1.5)
    assert platform.auth.cached_principal(caller.token) is None
    refused = await client.get("/v1/me", headers=caller.headers)
    assert refused.status_code == 401


async def test_suspending_a_cached_spell_stops_its_casts_at_once(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    _maker, caster = await _caster(client, platform, tmp_path)
    operator = seed_user(platform, "op@example.com", ["operator"])
    assert (
        await client.post(
            "/v1/spells/acme/hello/cast", headers=_cast(caster, "a"), json={"input": {"name": "x"}}
        )
    ).json()["status"] == "succeeded"
    suspended = await client.post(
        "/v1/admin/spells/acme/hello/suspend", headers=operator.headers, json={"reason": "abuse"}
    )
    assert suspended.status_code == 200, suspended.text
    refused = await client.post(
        "/v1/spells/acme/hello/cast", headers=_cast(caster, "b"), json={"input": {"name": "x"}}
    )
    assert refused.status_code in (403, 423)
    assert refused.json()["error"]["code"] == "SPELL_SUSPENDED"


async def test_a_new_or_yanked_version_changes_the_cached_latest_at_once(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker, caster = await _caster(client, platform, tmp_path)
    first = await client.post(
        "/v1/spells/acme/hello/cast", headers=_cast(caster, "v1"), json={"input": {"name": "x"}}
    )
    assert first.json()["version"] == "1.0.0"
    await publish(client, maker, tmp_path, version="1.1.0")
    second = await client.post(
        "/v1/spells/acme/hello/cast", headers=_cast(caster, "v2"), json={"input": {"name": "x"}}
    )
    assert second.json()["version"] == "1.1.0"
    yanked = await client.post("/v1/spells/acme/hello/versions/1.1.0/yank", headers=maker.headers)
    assert yanked.status_code == 200, yanked.text
    third = await client.post(
        "/v1/spells/acme/hello/cast", headers=_cast(caster, "v3"), json={"input": {"name": "x"}}
    )
    assert third.json()["version"] == "1.0.0"


async def test_making_a_cached_spell_private_hides_it_from_other_tenants_at_once(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker, caster = await _caster(client, platform, tmp_path)
    assert (
        await client.post(
            "/v1/spells/acme/hello/cast", headers=_cast(caster, "p1"), json={"input": {"name": "x"}}
        )
    ).status_code == 200
    changed = await client.patch(
        "/v1/spells/acme/hello", headers=maker.headers, json={"visibility": "private"}
    )
    assert changed.status_code == 200, changed.text
    hidden = await client.post(
        "/v1/spells/acme/hello/cast", headers=_cast(caster, "p2"), json={"input": {"name": "x"}}
    )
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "SPELL_NOT_FOUND"
    own = await client.post(
        "/v1/spells/acme/hello/cast", headers=_cast(maker, "p3"), json={"input": {"name": "x"}}
    )
    assert own.status_code == 200
