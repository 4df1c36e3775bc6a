"""GET /v1/tenant: the caller's organization and its members, and nobody else's."""

from __future__ import annotations

import httpx
import pytest

from spell.platform.server import Platform
from tests.fixtures.server import Caller, seed_user

pytestmark = pytest.mark.anyio


def _member(platform: Platform, email: str, tenant: str, roles: list[str]) -> Caller:
    with platform.db.unit_of_work() as uow:
        user = platform.auth.create_user(uow, email=email, roles=roles, tenant=tenant)
        created = platform.auth.create_key(uow, user, name="test")
        return Caller(user_id=user.id, tenant_id=user.tenant_id, token=created.token)


async def test_lists_the_tenant_and_its_members(client: httpx.AsyncClient, platform: Platform) -> None:
    first = _member(platform, "ada@acme.test", "acme", ["maker"])
    second = _member(platform, "bob@acme.test", "acme", ["caster", "auditor"])
    _member(platform, "eve@other.test", "other", ["caster"])

    response = await client.get("/v1/tenant", headers=second.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == first.tenant_id == second.tenant_id
    assert body["name"] == "acme"
    assert [m["email"] for m in body["members"]] == ["ada@acme.test", "bob@acme.test"]
    assert body["members"][1] == {
        "user_id": second.user_id,
        "email": "bob@acme.test",
        "roles": ["caster", "auditor"],
        "banned": False,
        "joined_at": body["members"][1]["joined_at"],
    }
    assert body["members"][1]["joined_at"].endswith("Z")


async def test_another_tenant_sees_only_its_own(client: httpx.AsyncClient, platform: Platform) -> None:
    _member(platform, "ada@acme.test", "acme", ["maker"])
    intruder = seed_user(platform, "intruder@example.com", ["maker", "caster"])

    response = await client.get("/v1/tenant", headers=intruder.headers)

    assert response.status_code == 200, response.text
    assert response.json()["id"] == intruder.tenant_id
    assert [m["email"] for m in response.json()["members"]] == ["intruder@example.com"]


async def test_a_banned_member_is_shown_as_banned(client: httpx.AsyncClient, platform: Platform) -> None:
    owner = _member(platform, "ada@acme.test", "acme", ["maker"])
    banned = _member(platform, "bob@acme.test", "acme", ["caster"])
    with platform.db.unit_of_work() as uow:
        platform.auth.get_user(uow, banned.user_id).is_banned = True

    response = await client.get("/v1/tenant", headers=owner.headers)

    assert {m["email"]: m["banned"] for m in response.json()["members"]} == {
        "ada@acme.test": False,
        "bob@acme.test": True,
    }


async def test_needs_the_keys_manage_scope(client: httpx.AsyncClient, platform: Platform) -> None:
    caster = seed_user(platform, "agent@example.com", ["caster"], scopes=["cast:invoke"])

    response = await client.get("/v1/tenant", headers=caster.headers)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert response.json()["error"]["details"]["required_scope"] == "keys:manage"


async def test_needs_a_credential(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/tenant")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
