"""What a browser is refused: a form another site makes it post, and another tenant's cast."""

from __future__ import annotations

from typing import Any

from tests.client.live_server import LiveServer
from tests.fixtures.live import database_backend
from tests.fixtures.server import seed_user
from tests.web.helpers import seed_samples, sign_in

__all__ = ["database_backend"]  # SQLite only: these tests drive pages, not storage


def test_a_form_another_site_makes_the_browser_post_is_refused(live: LiveServer, page: Any) -> None:
    seed_samples(live.platform)
    caster = seed_user(live.platform, "c@example.com", ["caster"])
    sign_in(page, live.url, caster.token)
    # A page of another origin (here: an opaque one) posting to the console with the victim's cookie.
    page.goto("about:blank")
    page.set_content(
        f'<form id="f" method="post" action="{live.url}/spells/samples/hello-wasm/cast">'
        '<input name="in/name" value="forged"><input name="csrf_token" value="guessed"></form>'
    )
    with page.expect_navigation():
        page.evaluate("document.getElementById('f').submit()")
    # The SameSite=Lax cookie stays home on a cross-site POST: the post arrives signed out and is sent
    # to sign in (were the cookie sent, the origin and token checks would refuse it, as
    # tests/web/test_console_casting.py shows); the victim, still signed in, lands on the catalog.
    assert page.url == f"{live.url}/spells"
    rows, _ = live.platform.casts.list_casts(
        _principal(live, caster.token), status=None, spell_id=None, limit=10, cursor=None
    )
    assert rows == []


def test_another_tenants_cast_page_is_not_found(live: LiveServer, page: Any) -> None:
    seed_samples(live.platform)
    owner = seed_user(live.platform, "owner@example.com", ["caster"])
    sign_in(page, live.url, owner.token)
    page.goto(f"{live.url}/spells/samples/hello-wasm")
    page.get_by_label("name").fill("mine")
    page.get_by_role("button", name="Cast Hello (WASM)").click()
    page.wait_for_url("**/casts/cast_*")
    cast_url = page.url
    page.get_by_role("button", name="Sign out").click()
    stranger = seed_user(live.platform, "stranger@example.com", ["caster"])
    sign_in(page, live.url, stranger.token)
    answer = page.goto(cast_url)
    assert answer is not None
    assert answer.status == 404
    assert page.locator(".error-code").inner_text().startswith("Error CAST_NOT_FOUND")


def _principal(live: LiveServer, token: str) -> Any:
    with live.platform.db.unit_of_work(write=False) as uow:
        return live.platform.auth.authenticate_key(uow, token)
