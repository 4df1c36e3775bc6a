"""Signing in and out of the console over HTTP: the cookie's flags, CSRF and origin checks on every
form, sessions ended by sign-out, key revocation and bans, and no open redirect after sign-in."""

from __future__ import annotations

import httpx
import pytest

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.platform.server import Platform
from tests.fixtures.server import seed_user
from tests.web.helpers import ORIGIN, csrf_in, sign_in_http

pytestmark = pytest.mark.anyio


async def test_signing_in_sets_an_httponly_lax_cookie_and_opens_the_catalog(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    form = await client.get("/sign-in")
    answer = await client.post(
        "/sign-in",
        data={"api_key": caster.token, "csrf_token": csrf_in(form.text), "next": "/casts"},
        headers={"Origin": ORIGIN},
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/casts")
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith("spell_session=")
    assert {"httponly", "samesite=lax"} <= {part.strip() for part in cookie.split(";")}
    assert "secure" not in cookie
    assert caster.token not in answer.headers["set-cookie"]
    assert (await client.get("/casts")).status_code == 200


async def test_over_https_the_cookie_is_secure_and_host_prefixed(
    platform: Platform, server_settings: ServerSettings
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    app = create_app(server_settings, platform=platform, manage=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://spell.test"
    ) as https:
        form = await https.get("/sign-in")
        answer = await https.post(
            "/sign-in",
            data={"api_key": caster.token, "csrf_token": csrf_in(form.text)},
            headers={"Origin": "https://spell.test"},
        )
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith("__host-spell_session=")
    assert {"secure", "httponly", "path=/"} <= {part.strip() for part in cookie.split(";")}


async def test_pages_need_a_session_and_send_the_browser_to_sign_in(client: httpx.AsyncClient) -> None:
    answer = await client.get("/casts?status=failed")
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        "/sign-in?next=%2Fcasts%3Fstatus%3Dfailed",
    )
    htmx = await client.get("/spells", headers={"HX-Request": "true"})
    assert htmx.headers["hx-redirect"].startswith("/sign-in?next=")
    client.cookies.set("spell_session", "not-signed")
    assert (await client.get("/spells")).status_code == 303


async def test_a_wrong_key_gets_the_form_again_with_the_reason(client: httpx.AsyncClient) -> None:
    form = await client.get("/sign-in")
    answer = await client.post(
        "/sign-in",
        data={"api_key": "sk_live_nope", "csrf_token": csrf_in(form.text)},
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 401
    assert "The key was refused" in answer.text
    assert "set-cookie" not in answer.headers or "spell_session=" not in answer.headers["set-cookie"]


@pytest.mark.parametrize(
    ("origin", "with_token"),
    [(ORIGIN, False), ("https://evil.example", True), (None, True)],
    ids=["no form token", "another origin", "no origin"],
)
async def test_the_sign_in_form_refuses_posts_without_its_token_or_from_elsewhere(
    client: httpx.AsyncClient, platform: Platform, origin: str | None, with_token: bool
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    form = await client.get("/sign-in")
    data = {"api_key": caster.token, "csrf_token": csrf_in(form.text) if with_token else ""}
    answer = await client.post("/sign-in", data=data, headers={"Origin": origin} if origin else {})
    assert (answer.status_code, answer.headers["x-spell-error"]) == (403, "CSRF_REFUSED")
    assert "spell_session" not in client.cookies


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
async def test_sign_in_never_redirects_off_the_server(
    client: httpx.AsyncClient, platform: Platform, target: str
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    form = await client.get("/sign-in")
    answer = await client.post(
        "/sign-in",
        data={"api_key": caster.token, "csrf_token": csrf_in(form.text), "next": target},
        headers={"Origin": ORIGIN},
    )
    assert answer.headers["location"] == "/spells"


async def test_signing_out_needs_the_csrf_token_and_ends_the_session_on_the_server(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    token = await sign_in_http(client, caster.token)
    cookie = client.cookies["spell_session"]
    refused = await client.post("/sign-out", data={"csrf_token": "stale"}, headers={"Origin": ORIGIN})
    assert (refused.status_code, refused.headers["x-spell-error"]) == (403, "CSRF_REFUSED")
    assert (await client.get("/spells")).status_code == 200
    out = await client.post("/sign-out", data={"csrf_token": token}, headers={"Origin": ORIGIN})
    assert (out.status_code, out.headers["location"]) == (303, "/sign-in")
    # The old cookie, replayed, names a session the server no longer has.
    client.cookies.set("spell_session", cookie)
    assert (await client.get("/spells")).status_code == 303


async def test_revoking_the_key_ends_the_console_session(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    await sign_in_http(client, caster.token)
    key_id = (await client.get("/v1/me", headers=caster.headers)).json()["key_id"]
    revoked = await client.delete(f"/v1/keys/{key_id}", headers=caster.headers)
    assert revoked.status_code == 200
    assert (await client.get("/spells")).status_code == 303


async def test_a_banned_user_is_shown_the_ban_and_loses_the_session(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    await sign_in_http(client, caster.token)
    with platform.db.unit_of_work() as uow:
        platform.auth.set_ban(uow, caster.user_id, banned=True, reason="abuse")
    banned = await client.get("/spells")
    assert (banned.status_code, banned.headers["x-spell-error"]) == (403, "USER_BANNED")
    with platform.db.unit_of_work() as uow:
        platform.auth.set_ban(uow, caster.user_id, banned=False)
    assert (await client.get("/spells")).status_code == 303  # the session ended with the ban


async def test_a_banned_user_cannot_sign_in(client: httpx.AsyncClient, platform: Platform) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    with platform.db.unit_of_work() as uow:
        platform.auth.set_ban(uow, caster.user_id, banned=True)
    form = await client.get("/sign-in")
    answer = await client.post(
        "/sign-in",
        data={"api_key": caster.token, "csrf_token": csrf_in(form.text)},
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 403
    assert "banned" in answer.text
