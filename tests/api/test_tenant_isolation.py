"""A second tenant's key gets 404 or 403 on every resource of the first: casts, events, artifacts, keys,
private spells, buttons, publishers — one parametrised test over all routes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from spell.platform.server import Platform
from spell.runtimes.base import Runtime
from spell.testing.runtimes import FileWritingRuntime
from tests.fixtures.server import Caller, publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio


@pytest.fixture
def runtimes(tmp_path: Path) -> dict[str, Runtime]:
    return {"wasm": FileWritingRuntime(tmp_path / "scratch")}


@dataclass
class World:
    """Tenant A's resources, and tenant B's caller."""

    owner: Caller
    intruder: Caller
    cast_id: str
    key_id: str
    artifact_url: str


# (method, path template, json body) — every route that names a resource of tenant A.
ROUTES: list[tuple[str, str, object]] = [
    ("GET", "/v1/casts/{cast}", None),
    ("GET", "/v1/casts/{cast}?wait=1", None),
    ("GET", "/v1/casts/{cast}/events", None),
    ("GET", "/v1/casts/{cast}/artifacts", None),
    ("POST", "/v1/casts/{cast}/cancel", None),
    ("POST", "/v1/casts/{cast}/retry", None),
    ("DELETE", "/v1/keys/{key}", None),
    ("POST", "/v1/keys/{key}/rotate", None),
    ("GET", "/v1/spells/acme/secret", None),
    ("GET", "/v1/spells/acme/secret/versions", None),
    ("PATCH", "/v1/spells/acme/secret", {"visibility": "public"}),
    ("POST", "/v1/spells/acme/secret/versions/1.0.0/yank", None),
    ("POST", "/v1/spells/acme/secret/cast", {"input": {}}),
    ("POST", "/v1/buttons/private-button/cast", {"input": {}}),
    ("DELETE", "/v1/buttons/private-button", None),
    ("POST", "/v1/buttons", {"id": "x", "spell_id": "acme/secret", "version": "1.0.0"}),
    (
        "POST",
        "/v1/publishers/acme/keys",
        {"key_id": "k9", "public_key": "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE"},
    ),
    ("DELETE", "/v1/publishers/acme/keys/k1", None),
]


@pytest.fixture
async def world(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> World:
    owner = await seed_maker(client, platform)
    await publish(client, owner, tmp_path, spell_id="acme/secret", schema={"type": "object"})
    await client.patch("/v1/spells/acme/secret", headers=owner.headers, json={"visibility": "private"})
    await client.post(
        "/v1/buttons",
        headers=owner.headers,
        json={"id": "private-button", "spell_id": "acme/secret", "version": "1.0.0"},
    )
    cast = await client.post(
        "/v1/spells/acme/secret/cast",
        json={"input": {"files": {"f.txt": "x"}}},
        headers={**owner.headers, "Idempotency-Key": "w", "Prefer": "wait=10"},
    )
    key = await client.post("/v1/keys", headers=owner.headers, json={"name": "second"})
    artifacts = await client.get(f"/v1/casts/{cast.json()['id']}/artifacts", headers=owner.headers)
    intruder = seed_user(platform, "intruder@example.com", ["maker", "caster"])
    return World(
        owner=owner,
        intruder=intruder,
        cast_id=cast.json()["id"],
        key_id=key.json()["id"],
        artifact_url=artifacts.json()["items"][0]["url"],
    )


@pytest.mark.parametrize(("method", "template", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
async def test_another_tenant_gets_404_or_403_on_every_resource(
    client: httpx.AsyncClient, world: World, method: str, template: str, body: object
) -> None:
    path = template.format(cast=world.cast_id, key=world.key_id)
    headers = {**world.intruder.headers, "Idempotency-Key": "intrude"}
    response = await client.request(method, path, headers=headers, json=body)
    assert response.status_code in {403, 404}, (path, response.status_code, response.text)
    assert response.json()["ok"] is False
    owner_view = await client.get(f"/v1/casts/{world.cast_id}", headers=world.owner.headers)
    assert owner_view.json()["status"] == "succeeded"  # nothing the intruder did changed it


async def test_listings_never_show_another_tenants_resources(client: httpx.AsyncClient, world: World) -> None:
    for path in ("/v1/casts", "/v1/spells", "/v1/buttons", "/v1/keys"):
        response = await client.get(path, headers=world.intruder.headers)
        items = response.json()["items"]
        assert all(
            item.get("id") not in {world.cast_id, "acme/secret", "private-button", world.key_id}
            for item in items
        ), path
