"""Casts carry inputs and outputs: reading them takes ``cast:invoke`` (or ``audit:read``), so a key
narrowed to ``spell:read`` or ``spell:publish`` cannot browse its tenant's casts."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.platform.server import Platform
from tests.fixtures.server import publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio

READS = ["/v1/casts", "/v1/casts/{id}", "/v1/casts/{id}/events", "/v1/casts/{id}/artifacts"]


async def _one_cast(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> str:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**maker.headers, "Idempotency-Key": "k-1", "Prefer": "wait=10"},
        json={"input": {"name": "world"}},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("scopes", [["spell:read"], ["spell:read", "spell:publish", "keys:manage"]])
async def test_a_key_without_cast_invoke_cannot_read_casts(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, path: str, scopes: list[str]
) -> None:
    cast_id = await _one_cast(client, platform, tmp_path)
    with platform.db.unit_of_work() as uow:
        user = platform.auth.find_user(uow, "maker@example.com")
        narrow = platform.auth.create_key(uow, user, name="narrow", scopes=scopes).token
    response = await client.get(path.format(id=cast_id), headers={"Authorization": f"Bearer {narrow}"})
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "FORBIDDEN"
    assert error["details"]["required_scopes"] == ["cast:invoke", "audit:read"]


async def test_an_auditor_reads_the_tenants_casts(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    cast_id = await _one_cast(client, platform, tmp_path)
    with platform.db.unit_of_work() as uow:
        maker = platform.auth.find_user(uow, "maker@example.com")
        tenant = platform.auth.tenant_members(uow, maker.tenant_id)[0].name
        user = platform.auth.create_user(uow, email="auditor@example.com", roles=["auditor"], tenant=tenant)
        headers = {"Authorization": f"Bearer {platform.auth.create_key(uow, user, name='audit').token}"}
    outsider = seed_user(platform, "auditor@elsewhere.example", ["auditor"])
    assert (await client.get(f"/v1/casts/{cast_id}", headers=outsider.headers)).status_code == 404
    listed = await client.get("/v1/casts", headers=headers)
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [cast_id]
    one = await client.get(f"/v1/casts/{cast_id}", headers=headers)
    assert one.status_code == 200, one.text
    assert one.json()["output"] == {"greeting": "hello", "input": {"name": "world"}}
