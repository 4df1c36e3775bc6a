"""The console in a real browser: signing in with a key and out again."""

from __future__ import annotations

from typing import Any

from tests.client.live_server import LiveServer
from tests.fixtures.live import database_backend
from tests.fixtures.server import seed_user
from tests.web.conftest import screenshot
from tests.web.helpers import seed_samples, sign_in

__all__ = ["database_backend"]  # SQLite only: these tests drive pages, not storage


def test_a_caster_signs_in_with_a_key_finds_a_spell_and_signs_out(live: LiveServer, page: Any) -> None:
    seed_samples(live.platform)
    caster = seed_user(live.platform, "caster@example.com", ["caster"])
    page.goto(f"{live.url}/")
    assert page.url == f"{live.url}/sign-in"
    screenshot(page, "sign-in")
    sign_in(page, live.url, caster.token)
    page.get_by_label("Search").fill("hello-wasm")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**q=hello-wasm**")
    assert page.get_by_role("link", name="Hello (WASM)").is_visible()
    screenshot(page, "catalog")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live.url}/sign-in")
    page.goto(f"{live.url}/spells")
    assert page.url.startswith(f"{live.url}/sign-in?next=")


def test_a_wrong_key_is_refused_on_the_form(live: LiveServer, page: Any) -> None:
    page.goto(f"{live.url}/sign-in")
    page.get_by_label("API key").fill("sk_live_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    assert "refused" in page.get_by_role("alert").inner_text()
    assert page.url == f"{live.url}/sign-in"
