"""API keys, /v1/me, scopes and bans through the HTTP API."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from spell.kit.clock import FakeClock
from spell.kit.time import to_rfc3339, utcnow
from spell.models import ApiKey
from spell.platform.server import Platform
from tests.fixtures import clock as clock_fixtures
from tests.fixtures.server import seed_user

pytestmark = pytest.mark.anyio

# This module's platform runs on a fake clock that only the tests move.
clock = clock_fixtures.clock
platform = clock_fixtures.platform

PUBLISHER_KEY = {"key_id": "k1", "public_key": "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE"}


async def test_me_names_the_user_tenant_roles_and_scopes(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    body = (await client.get("/v1/me", headers=caller.headers)).json()
    assert body["user_id"] == caller.user_id
    assert body["tenant_id"] == caller.tenant_id
    assert body["roles"] == ["caster"]
    assert "cast:invoke" in body["scopes"]


async def test_a_created_key_works_and_its_secret_is_shown_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    created = await client.post("/v1/keys", headers=caller.headers, json={"name": "ci", "test": True})
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("sk_test_")
    listed = (await client.get("/v1/keys", headers=caller.headers)).json()["items"]
    assert {item["name"] for item in listed} == {"test", "ci"}
    assert all("token" not in item for item in listed)
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["key_id"] == created.json()["id"]


async def test_a_revoked_key_is_refused(client: httpx.AsyncClient, platform: Platform) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    created = (await client.post("/v1/keys", headers=caller.headers, json={})).json()
    revoked = await client.delete(f"/v1/keys/{created['id']}", headers=caller.headers)
    assert revoked.json()["revoked_at"] is not None
    response = await client.get("/v1/me", headers={"Authorization": f"Bearer {created['token']}"})
    assert response.status_code == 401


async def test_an_expired_key_is_refused(client: httpx.AsyncClient, platform: Platform) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    created = (await client.post("/v1/keys", headers=caller.headers, json={})).json()
    with platform.db.unit_of_work() as uow:
        key = uow.session.get(ApiKey, created["id"])
        assert key is not None
        key.expires_at = utcnow() - timedelta(seconds=1)
    response = await client.get("/v1/me", headers={"Authorization": f"Bearer {created['token']}"})
    assert response.status_code == 401


async def test_an_expiry_in_the_past_is_a_validation_error(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    response = await client.post(
        "/v1/keys", headers=caller.headers, json={"expires_at": "2000-01-01T00:00:00Z"}
    )
    assert response.status_code == 422


async def test_unknown_scopes_are_refused(client: httpx.AsyncClient, platform: Platform) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    response = await client.post("/v1/keys", headers=caller.headers, json={"scopes": ["root"]})
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_rotation_gives_a_new_key_and_keeps_the_old_one_for_the_grace_period(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    created = (await client.post("/v1/keys", headers=caller.headers, json={"scopes": ["spell:read"]})).json()
    rotated = await client.post(f"/v1/keys/{created['id']}/rotate", headers=caller.headers)
    assert rotated.status_code == 201
    assert rotated.json()["scopes"] == ["spell:read"]
    old = await client.get("/v1/me", headers={"Authorization": f"Bearer {created['token']}"})
    assert old.status_code == 200
    keys = {k["id"]: k for k in (await client.get("/v1/keys", headers=caller.headers)).json()["items"]}
    assert keys[created["id"]]["rotated_to"] == rotated.json()["id"]
    assert keys[created["id"]]["expires_at"] is not None


async def test_a_rotated_key_works_until_the_grace_period_ends_and_the_new_one_after(
    client: httpx.AsyncClient, platform: Platform, clock: FakeClock
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    created = (await client.post("/v1/keys", headers=caller.headers, json={})).json()
    rotated = (await client.post(f"/v1/keys/{created['id']}/rotate", headers=caller.headers)).json()
    old, new = ({"Authorization": f"Bearer {key['token']}"} for key in (created, rotated))
    clock.advance(platform.settings.key_rotation_grace_seconds - 0.001)
    assert (await client.get("/v1/me", headers=old)).status_code == 200
    clock.advance(0.001)
    refused = await client.get("/v1/me", headers=old)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "UNAUTHORIZED"
    assert (await client.get("/v1/me", headers=new)).json()["key_id"] == rotated["id"]


async def test_a_key_made_with_an_expiry_works_until_then(
    client: httpx.AsyncClient, platform: Platform, clock: FakeClock
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    expires = to_rfc3339(clock.now() + timedelta(hours=1))
    created = (await client.post("/v1/keys", headers=caller.headers, json={"expires_at": expires})).json()
    assert created["expires_at"] == expires
    headers = {"Authorization": f"Bearer {created['token']}"}
    clock.advance(3600 - 1)
    assert (await client.get("/v1/me", headers=headers)).status_code == 200
    clock.advance(1)
    assert (await client.get("/v1/me", headers=headers)).status_code == 401


async def test_another_users_key_is_not_found(client: httpx.AsyncClient, platform: Platform) -> None:
    first = seed_user(platform, "a@example.com", ["caster"])
    second = seed_user(platform, "b@example.com", ["caster"])
    mine = (await client.get("/v1/keys", headers=first.headers)).json()["items"][0]["id"]
    for call in (
        client.delete(f"/v1/keys/{mine}", headers=second.headers),
        client.post(f"/v1/keys/{mine}/rotate", headers=second.headers),
    ):
        response = await call
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "KEY_NOT_FOUND"


async def test_a_key_without_the_scope_is_forbidden(client: httpx.AsyncClient, platform: Platform) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"], scopes=["spell:read"])
    response = await client.post("/v1/keys", headers=caller.headers, json={})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


async def test_a_banned_user_gets_user_banned_everywhere_until_unbanned(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    admin = seed_user(platform, "root@example.com", ["admin"], scopes=["admin", "keys:manage"])
    target = seed_user(platform, "bad@example.com", ["caster"])
    banned = await client.post(
        "/v1/admin/bans", headers=admin.headers, json={"user_id": "bad@example.com", "reason": "abuse"}
    )
    assert banned.status_code == 201
    for path in ("/v1/me", "/v1/keys", "/v1/spells", "/v1/casts"):
        response = await client.get(path, headers=target.headers)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "USER_BANNED"
    lifted = await client.delete(f"/v1/admin/bans/{target.user_id}", headers=admin.headers)
    assert lifted.status_code == 200
    assert (await client.get("/v1/me", headers=target.headers)).status_code == 200


async def test_only_admins_ban(client: httpx.AsyncClient, platform: Platform) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    for call in (
        client.post("/v1/admin/bans", headers=caller.headers, json={"user_id": caller.user_id}),
        client.delete(f"/v1/admin/bans/{caller.user_id}", headers=caller.headers),
    ):
        response = await call
        assert response.status_code == 403


async def test_banning_an_unknown_user_is_not_found(client: httpx.AsyncClient, platform: Platform) -> None:
    admin = seed_user(platform, "root@example.com", ["admin"], scopes=["admin"])
    response = await client.post("/v1/admin/bans", headers=admin.headers, json={"user_id": "ghost"})
    assert response.status_code == 404


async def test_using_a_key_records_its_last_use_and_a_revoked_key_cannot_be_rotated(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    created = (await client.post("/v1/keys", headers=caller.headers, json={"name": "x"})).json()
    assert created["last_used_at"] is None
    await client.get("/v1/me", headers={"Authorization": f"Bearer {created['token']}"})
    keys = {k["id"]: k for k in (await client.get("/v1/keys", headers=caller.headers)).json()["items"]}
    assert keys[created["id"]]["last_used_at"] is not None
    await client.delete(f"/v1/keys/{created['id']}", headers=caller.headers)
    again = await client.delete(f"/v1/keys/{created['id']}", headers=caller.headers)
    assert again.status_code == 200  # revoking twice is harmless
    rotated = await client.post(f"/v1/keys/{created['id']}/rotate", headers=caller.headers)
    assert rotated.json()["error"]["code"] == "KEY_NOT_FOUND"


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (["caster"], ["cast:invoke", "spell:read", "keys:manage"]),
        (["maker"], ["cast:invoke", "spell:read", "spell:publish", "keys:manage"]),
        (["auditor"], ["spell:read", "audit:read"]),
        (["operator"], ["cast:invoke", "spell:read", "keys:manage", "audit:read", "operator"]),
        (["admin"], ["cast:invoke", "spell:read", "spell:publish", "keys:manage", "audit:read", "operator"]),
    ],
)
async def test_default_key_scopes_follow_the_roles(
    client: httpx.AsyncClient, platform: Platform, roles: list[str], expected: list[str]
) -> None:
    caller = seed_user(platform, "a@example.com", roles)
    me = (await client.get("/v1/me", headers=caller.headers)).json()
    assert me["scopes"] == expected


async def test_a_new_key_never_gets_a_scope_the_calling_key_lacks(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caller = seed_user(platform, "a@example.com", ["maker"], scopes=["keys:manage", "spell:read"])
    wider = await client.post("/v1/keys", headers=caller.headers, json={"scopes": ["cast:invoke"]})
    assert wider.status_code == 403
    assert wider.json()["error"]["code"] == "SCOPE_NOT_ALLOWED"
    assert wider.json()["error"]["details"]["not_allowed"] == ["cast:invoke"]
    default = await client.post("/v1/keys", headers=caller.headers, json={})
    assert default.status_code == 201
    assert default.json()["scopes"] == ["spell:read", "keys:manage"]
    names = {k["name"] for k in (await client.get("/v1/keys", headers=caller.headers)).json()["items"]}
    assert names == {"test", "default"}  # the refused request made nothing


@pytest.mark.parametrize("scope", ["spell:publish", "audit:read", "operator", "admin"])
async def test_a_new_key_never_gets_a_scope_the_users_roles_do_not_allow(
    client: httpx.AsyncClient, platform: Platform, scope: str
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    response = await client.post("/v1/keys", headers=caller.headers, json={"scopes": [scope]})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "SCOPE_NOT_ALLOWED"


async def test_rotating_with_a_narrow_key_cannot_mint_a_wide_one(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    wide = (await client.get("/v1/keys", headers=caller.headers)).json()["items"][0]
    narrow = (await client.post("/v1/keys", headers=caller.headers, json={"scopes": ["keys:manage"]})).json()
    rotated = await client.post(
        f"/v1/keys/{wide['id']}/rotate", headers={"Authorization": f"Bearer {narrow['token']}"}
    )
    assert rotated.status_code == 403
    assert rotated.json()["error"]["code"] == "SCOPE_NOT_ALLOWED"
    keys = {k["id"]: k for k in (await client.get("/v1/keys", headers=caller.headers)).json()["items"]}
    assert keys[wide["id"]]["rotated_to"] is None  # nothing changed
    assert len(keys) == 2


async def test_a_role_taken_away_takes_its_scopes_from_existing_keys(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caller = seed_user(platform, "m@example.com", ["maker"])
    assert "spell:publish" in (await client.get("/v1/me", headers=caller.headers)).json()["scopes"]
    with platform.db.unit_of_work() as uow:
        platform.auth.get_user(uow, caller.user_id).roles = ["caster"]
    me = (await client.get("/v1/me", headers=caller.headers)).json()
    assert me["scopes"] == ["cast:invoke", "spell:read", "keys:manage"]
    response = await client.post("/v1/publishers/mine/keys", headers=caller.headers, json=PUBLISHER_KEY)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ROLE_REQUIRED"


async def test_bans_name_the_admin_who_banned_in_the_audit_log(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    admin = seed_user(platform, "root@example.com", ["admin"], scopes=["admin"])
    target = seed_user(platform, "bad@example.com", ["caster"])
    await client.post("/v1/admin/bans", headers=admin.headers, json={"user_id": target.user_id})
    await client.delete(f"/v1/admin/bans/{target.user_id}", headers=admin.headers)
    with platform.db.unit_of_work(write=False) as uow:
        records = [r for r in platform.audit.list(uow, limit=1000) if r.subject == target.user_id]
        assert [(r.action, r.actor_id) for r in records] == [
            ("user.banned", admin.user_id),
            ("user.unbanned", admin.user_id),
        ]
