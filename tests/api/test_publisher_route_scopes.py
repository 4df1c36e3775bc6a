"""The maker's publisher routes added for the supply chain refuse a key of the right tenant and role
that lacks ``spell:publish``: notices, the notice webhook, Sigstore identities and policy."""

from __future__ import annotations

import httpx
import pytest

from spell.platform.server import Platform
from tests.fixtures.server import seed_maker

pytestmark = pytest.mark.anyio

ROUTES = [
    ("GET", "/v1/publishers/acme/notices", None),
    ("PUT", "/v1/publishers/acme/webhook", {"url": None}),
    ("GET", "/v1/publishers/acme/sigstore-identities", None),
    (
        "POST",
        "/v1/publishers/acme/sigstore-identities",
        {"identity": "maker@example.com", "issuer": "https://accounts.example.com"},
    ),
    ("PUT", "/v1/publishers/acme/sigstore-policy", {"required": False}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
async def test_a_key_without_spell_publish_is_refused(
    client: httpx.AsyncClient, platform: Platform, method: str, path: str, body: object
) -> None:
    maker = await seed_maker(client, platform)
    with platform.db.unit_of_work() as uow:
        user = platform.auth.find_user(uow, "maker@example.com")
        narrow = platform.auth.create_key(uow, user, name="read-only", scopes=["spell:read"]).token
    response = await client.request(method, path, headers={"Authorization": f"Bearer {narrow}"}, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["details"]["required_scope"] == "spell:publish"
    allowed = await client.request(method, path, headers=maker.headers, json=body)
    assert allowed.status_code < 400, allowed.text
