"""``GET /v1/admin/violations`` and ``POST /v1/admin/violations/reinstate``: admins only, filters and
pages, reinstatement with its audit record, and every refusal by its code."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.kit.clock import FakeClock
from spell.kit.time import to_rfc3339
from spell.platform.abuse.service import Violation
from spell.platform.server import Platform
from tests.fixtures.server import Caller, publish, seed_maker, seed_user
from tests.platform.abuse.helpers import THRESHOLD, abuse_settings, audits, clock, platform, server_settings

__all__ = ["abuse_settings", "clock", "platform", "server_settings"]

pytestmark = pytest.mark.anyio


def _admin(platform: Platform) -> Caller:
    return seed_user(platform, "ops@example.com", ["admin"], scopes=["admin"])


def _record(platform: Platform, *violations: Violation) -> None:
    with platform.db.unit_of_work() as uow:
        for violation in violations:
            platform.abuse.record(uow, violation)


def _limit() -> Violation:
    return Violation("limit", "spell", "acme/hello", details={"code": "TIMEOUT"})


async def _suspended_spell(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> Caller:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    _record(platform, *[_limit() for _ in range(THRESHOLD)])
    return maker


async def test_an_admin_lists_violations_newest_first_with_filters_and_pages(
    client: httpx.AsyncClient, platform: Platform, clock: FakeClock, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    admin = _admin(platform)
    _record(platform, _limit())
    clock.advance(60)
    since = to_rfc3339(clock.now())
    _record(platform, Violation("signature", "user", maker.user_id, details={"code": "SIGNATURE_MISSING"}))
    clock.advance(60)
    _record(platform, _limit())

    listed = (await client.get("/v1/admin/violations", headers=admin.headers)).json()
    assert [(v["kind"], v["subject_id"]) for v in listed["items"]] == [
        ("limit", "acme/hello"),
        ("signature", maker.user_id),
        ("limit", "acme/hello"),
    ]
    assert listed["next_cursor"] is None
    users = await client.get("/v1/admin/violations", headers=admin.headers, params={"subject_type": "user"})
    assert [v["subject_id"] for v in users.json()["items"]] == [maker.user_id]
    recent = await client.get(
        "/v1/admin/violations", headers=admin.headers, params={"kind": "limit", "since": since}
    )
    assert len(recent.json()["items"]) == 1
    one = await client.get("/v1/admin/violations", headers=admin.headers, params={"subject_id": "acme/hello"})
    assert len(one.json()["items"]) == 2

    first = (await client.get("/v1/admin/violations", headers=admin.headers, params={"limit": 2})).json()
    rest = await client.get(
        "/v1/admin/violations", headers=admin.headers, params={"limit": 2, "cursor": first["next_cursor"]}
    )
    ids = [v["id"] for v in first["items"]] + [v["id"] for v in rest.json()["items"]]
    assert ids == [v["id"] for v in listed["items"]]
    assert rest.json()["next_cursor"] is None


@pytest.mark.parametrize("params", [{"cursor": "not-a-cursor"}, {"cursor": "nope|vio_1"}, {"kind": "spam"}])
async def test_a_malformed_filter_is_a_validation_error(
    client: httpx.AsyncClient, platform: Platform, params: dict[str, str]
) -> None:
    response = await client.get("/v1/admin/violations", headers=_admin(platform).headers, params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_only_admins_with_the_admin_scope_see_or_reinstate(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    maker = await seed_maker(client, platform)
    unscoped = seed_user(platform, "admin-no-scope@example.com", ["admin"])
    body = {"subject_type": "spell", "subject_id": "acme/hello"}
    for caller in (maker, unscoped):
        listed = await client.get("/v1/admin/violations", headers=caller.headers)
        assert (listed.status_code, listed.json()["error"]["code"]) == (403, "FORBIDDEN")
        lifted = await client.post("/v1/admin/violations/reinstate", headers=caller.headers, json=body)
        assert (lifted.status_code, lifted.json()["error"]["code"]) == (403, "FORBIDDEN")
    assert (await client.get("/v1/admin/violations")).json()["error"]["code"] == "UNAUTHORIZED"


async def test_reinstating_a_spell_lets_it_cast_again_with_an_audit_record_naming_the_admin(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await _suspended_spell(client, platform, tmp_path)
    admin = _admin(platform)
    cast_headers = {**maker.headers, "Prefer": "wait=20"}
    refused = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**cast_headers, "Idempotency-Key": "a"},
        json={"input": {"name": "x"}},
    )
    assert refused.json()["error"]["code"] == "SPELL_SUSPENDED"

    response = await client.post(
        "/v1/admin/violations/reinstate",
        headers=admin.headers,
        json={"subject_type": "spell", "subject_id": "acme/hello", "note": "limits fixed"},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"subject_type": "spell", "subject_id": "acme/hello", "cleared": THRESHOLD}
    cast = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**cast_headers, "Idempotency-Key": "b"},
        json={"input": {"name": "x"}},
    )
    assert cast.json()["status"] == "succeeded"
    (record,) = audits(platform, "abuse.reinstated")
    assert (record.actor_id, record.subject, record.data["note"]) == (
        admin.user_id,
        "acme/hello",
        "limits fixed",
    )
    (unsuspended,) = audits(platform, "spell.unsuspended")
    assert unsuspended.actor_id == admin.user_id
    listed = (await client.get("/v1/admin/violations", headers=admin.headers)).json()["items"]
    assert all(v["cleared_at"] is not None for v in listed)
    assert [v["suspended"] for v in listed].count(True) == 1


async def test_reinstating_a_suspended_user_lets_their_key_in_again(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "caster@example.com", ["caster"])
    _record(platform, *[Violation("rate_limit_storm", "user", caster.user_id) for _ in range(THRESHOLD)])
    assert (await client.get("/v1/me", headers=caster.headers)).json()["error"]["code"] == "USER_BANNED"

    response = await client.post(
        "/v1/admin/violations/reinstate",
        headers=_admin(platform).headers,
        json={"subject_type": "user", "subject_id": caster.user_id},
    )

    assert response.json()["cleared"] == THRESHOLD
    assert (await client.get("/v1/me", headers=caster.headers)).status_code == 200
    assert len(audits(platform, "user.unbanned")) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"subject_type": "spell", "subject_id": "acme/hello"}, 409, "NOT_SUSPENDED"),
        ({"subject_type": "spell", "subject_id": "ghost/none"}, 404, "SPELL_NOT_FOUND"),
        ({"subject_type": "user", "subject_id": "usr_ghost"}, 404, "NOT_FOUND"),
        ({"subject_type": "tenant", "subject_id": "x"}, 422, "VALIDATION_ERROR"),
        ({"subject_type": "spell", "subject_id": ""}, 422, "VALIDATION_ERROR"),
    ],
)
async def test_a_reinstatement_that_cannot_happen_is_refused_by_code(
    client: httpx.AsyncClient,
    platform: Platform,
    tmp_path: Path,
    body: dict[str, str],
    status: int,
    code: str,
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    response = await client.post(
        "/v1/admin/violations/reinstate", headers=_admin(platform).headers, json=body
    )
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert audits(platform, "abuse.reinstated") == []
