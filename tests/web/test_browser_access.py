"""The console without a mouse and on a phone: visible keyboard focus in a sensible order, no page
wider than a phone's screen, and read-only pages that work with JavaScript off."""

from __future__ import annotations

from typing import Any

from tests.client.live_server import LiveServer
from tests.fixtures.live import database_backend
from tests.fixtures.server import seed_user
from tests.web.conftest import screenshot
from tests.web.helpers import seed_samples, sign_in

__all__ = ["database_backend"]  # SQLite only: these tests drive pages, not storage

PHONE = {"width": 390, "height": 844}


def _focused(page: Any) -> str:
    return str(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))


def test_the_keyboard_reaches_the_sign_in_form_with_a_visible_focus(live: LiveServer, page: Any) -> None:
    caster = seed_user(live.platform, "c@example.com", ["caster"])
    page.goto(f"{live.url}/sign-in")
    page.keyboard.press("Tab")
    assert _focused(page) == "Skip to content"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert _focused(page) == "api_key"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.type(caster.token)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live.url}/spells")


def test_pages_fit_a_phone_screen(live: LiveServer, page: Any) -> None:
    seed_samples(live.platform)
    caster = seed_user(live.platform, "c@example.com", ["caster"])
    page.set_viewport_size(PHONE)
    sign_in(page, live.url, caster.token)
    for path, name in [
        ("/spells", "catalog-phone"),
        ("/spells/samples/hello-wasm", "spell-phone"),
        ("/casts", None),
    ]:
        page.goto(f"{live.url}{path}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, path
        if name:
            screenshot(page, name)


def test_read_only_pages_work_without_javascript(live: LiveServer, browser: Any) -> None:
    seed_samples(live.platform)
    caster = seed_user(live.platform, "c@example.com", ["caster"])
    context = browser.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        sign_in(tab, live.url, caster.token)
        tab.goto(f"{live.url}/spells?q=hello")
        assert tab.get_by_role("link", name="Hello (WASM)").is_visible()
        tab.get_by_role("link", name="Hello (WASM)").click()
        assert tab.get_by_role("heading", name="Hello (WASM)").is_visible()
        tab.get_by_label("name").fill("no script")
        tab.get_by_role("button", name="Cast Hello (WASM)").click()  # a plain form post
        tab.wait_for_url("**/casts/cast_*")
        assert tab.locator("[data-cast-status]").is_visible()
    finally:
        context.close()
