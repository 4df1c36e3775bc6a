"""Every non-2xx response carries the error envelope with a request id."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.platform.server import Platform
from tests.fixtures.server import seed_user

pytestmark = pytest.mark.anyio


async def test_an_unknown_route_is_a_404_in_the_error_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nowhere", headers={"X-Request-Id": "req-abc"})
    assert response.status_code == 404
    body = response.json()
    assert body["ok"] is False
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["error"]["request_id"] == "req-abc"
    assert response.headers["x-request-id"] == "req-abc"


async def test_a_wrong_method_is_a_405_in_the_error_envelope(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert response.json()["error"]["request_id"].startswith("req_")


async def test_missing_credentials_are_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_an_unknown_api_key_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me", headers={"Authorization": "Bearer sk_live_nope"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_a_bearer_that_is_not_a_key_is_401_without_jwt_configured(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
    assert response.status_code == 401


async def test_malformed_json_is_a_422_validation_error(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    response = await client.post(
        "/v1/keys", headers={**caller.headers, "Content-Type": "application/json"}, content=b"{not json"
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "hint" not in response.json()["error"]


async def test_a_form_encoded_body_gets_a_hint_to_send_json(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    response = await client.post(
        "/v1/keys",
        headers={**caller.headers, "Content-Type": "application/x-www-form-urlencoded"},
        content=b'{"name": "laptop"}',
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "Content-Type: application/json" in error["hint"]


async def test_a_body_over_the_limit_is_413(client: httpx.AsyncClient, platform: Platform) -> None:
    caller = seed_user(platform, "a@example.com", ["maker"])
    response = await client.post("/v1/spells", headers=caller.headers, content=b"x" * (3 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_health_and_readiness_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"ok": True}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] in {"sqlite", "postgresql"}


async def test_openapi_documents_every_route_and_the_error_envelope(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]
    for path in (
        "/v1/me",
        "/v1/tenant",
        "/v1/keys",
        "/v1/spells",
        "/v1/spells/{spell_id}/cast",
        "/v1/casts/{cast_id}/events",
    ):
        assert path in paths, path
    cast_post = paths["/v1/spells/{spell_id}/cast"]["post"]
    assert {"401", "404", "409", "422"} <= set(cast_post["responses"])
    assert cast_post["description"]
    assert cast_post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/CastOut")
    schemas = document["components"]["schemas"]
    documented = {"CastOut", "SpellDetail", "KeyCreated", "ButtonOut", "ArtifactList", "MeOut", "TenantOut"}
    assert documented <= set(schemas)
    for path, methods in paths.items():
        for method, operation in methods.items():
            assert operation.get("description") or operation.get("summary"), (method, path)
            if path.startswith("/v1/") and path != "/v1/artifacts/{artifact_id}":
                assert "401" in operation["responses"], (method, path)


async def test_an_unexpected_exception_is_a_500_internal_in_the_envelope(
    platform: Platform, server_settings: ServerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(platform.spells, "search", explode)
    app = create_app(server_settings, platform=platform, manage=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://spell.test") as http:
        response = await http.get("/v1/spells", headers=caller.headers)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL"
    assert "disk on fire" not in response.text


async def test_a_streamed_body_over_the_limit_is_413_too(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caller = seed_user(platform, "a@example.com", ["maker"])

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * (100 * 1024)

    response = await client.post("/v1/spells", headers=caller.headers, content=chunks())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
