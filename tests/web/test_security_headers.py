"""Security headers on every answer of the server, and CORS for the REST API only."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from spell.api import create_app
from spell.api.security import API_DOCS_POLICY, CONTENT_SECURITY_POLICY
from spell.config.server import ServerSettings
from spell.platform.server import Platform

pytestmark = pytest.mark.anyio

ALLOWED = "https://app.example.com"
PATHS = ["/v1/me", "/sign-in", "/healthz", "/static/console.css", "/no-such-page"]


@pytest.fixture
async def cors_client(platform: Platform, server_settings: ServerSettings) -> httpx.AsyncClient:
    settings = dataclasses.replace(server_settings, cors_allow_origins=(ALLOWED,))
    app = create_app(settings, platform=platform, manage=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://spell.test")


HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


@pytest.mark.parametrize("path", PATHS)
async def test_every_answer_carries_the_security_headers(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)
    assert {name: answer.headers.get(name) for name in HEADERS} == HEADERS
    assert "strict-transport-security" not in answer.headers  # plain http: HSTS would be ignored


def test_the_policy_allows_no_inline_script_and_no_other_origin() -> None:
    directives = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert directives["frame-ancestors"] == "'none'"


async def test_only_the_frameworks_api_docs_pages_get_the_docs_policy(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.headers["content-security-policy"] == API_DOCS_POLICY
    assert docs.headers["x-frame-options"] == "DENY"
    console = await client.get("/sign-in")
    assert "unsafe-inline" not in console.headers["content-security-policy"]


async def test_hsts_is_sent_over_https(platform: Platform, server_settings: ServerSettings) -> None:
    app = create_app(server_settings, platform=platform, manage=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://spell.test"
    ) as https:
        answer = await https.get("/sign-in")
    assert answer.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_an_allowed_origins_preflight_is_answered(cors_client: httpx.AsyncClient) -> None:
    async with cors_client:
        answer = await cors_client.options(
            "/v1/spells/acme/hello/cast",
            headers={
                "Origin": ALLOWED,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, idempotency-key, x-unknown",
            },
        )
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert answer.headers["access-control-allow-headers"] == "authorization, idempotency-key"
    assert "access-control-allow-credentials" not in answer.headers


async def test_another_origins_preflight_is_refused(cors_client: httpx.AsyncClient) -> None:
    async with cors_client:
        answer = await cors_client.options(
            "/v1/me", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "FORBIDDEN"
    assert "access-control-allow-origin" not in answer.headers


async def test_answers_are_readable_by_allowed_origins_only(
    cors_client: httpx.AsyncClient, platform: Platform
) -> None:
    async with cors_client:
        allowed = await cors_client.get("/v1/me", headers={"Origin": ALLOWED})
        other = await cors_client.get("/v1/me", headers={"Origin": "https://evil.example"})
        console = await cors_client.get("/sign-in", headers={"Origin": ALLOWED})
    assert allowed.status_code == 401  # CORS decides who may read the answer, not who is let in
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "X-Request-Id" in allowed.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-origin" not in console.headers  # the console is same-origin only


async def test_without_an_allow_list_no_origin_is_allowed(client: httpx.AsyncClient) -> None:
    answer = await client.options(
        "/v1/me", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"}
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "FORBIDDEN"


async def test_a_wildcard_allows_any_origin(platform: Platform, server_settings: ServerSettings) -> None:
    settings = dataclasses.replace(server_settings, cors_allow_origins=("*",))
    app = create_app(settings, platform=platform, manage=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://spell.test"
    ) as http:
        answer = await http.get("/v1/me", headers={"Origin": "https://anywhere.example"})
    assert answer.headers["access-control-allow-origin"] == "https://anywhere.example"


async def test_static_files_are_cached_for_a_year_under_their_versioned_url(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/sign-in")
    start = page.text.index("/static/console.css?v=")
    url = page.text[start : page.text.index('"', start)]
    versioned = await client.get(url)
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert versioned.headers["content-type"].startswith("text/css")
    stale = await client.get("/static/console.css?v=old")
    assert stale.headers["cache-control"] == "public, max-age=60"
    again = await client.get(url, headers={"If-None-Match": versioned.headers["etag"]})
    assert again.status_code == 304
    missing = await client.get("/static/../app.py")
    assert missing.status_code == 404
    unknown = await client.get("/static/nope.js")
    assert (unknown.status_code, unknown.headers["x-spell-error"]) == (404, "NOT_FOUND")
