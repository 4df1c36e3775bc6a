"""Casting from the console in a real browser: the generated form, live progress, the result, an
artifact download, the history."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.client.live_server import LiveServer, maker_of
from tests.fixtures.live import database_backend
from tests.fixtures.server import seed_user
from tests.web.conftest import screenshot
from tests.web.helpers import publish_writer, seed_samples, sign_in

__all__ = ["database_backend"]  # SQLite only: these tests drive pages, not storage


def test_a_caster_casts_hello_wasm_from_its_form_and_watches_it_finish(
    idle_live: LiveServer, page: Any
) -> None:
    live = idle_live
    seed_samples(live.platform)
    caster = seed_user(live.platform, "caster@example.com", ["caster"])
    sign_in(page, live.url, caster.token)
    page.get_by_label("Search").fill("hello")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Hello (WASM)").click()
    page.wait_for_url(f"{live.url}/spells/samples/hello-wasm")
    screenshot(page, "spell")
    page.get_by_label("name").fill("console")
    page.get_by_role("button", name="Cast Hello (WASM)").click()
    page.wait_for_url(re.compile(r".*/casts/cast_[0-9A-Z]+$"))
    status = page.locator("[data-cast-status]")
    assert status.inner_text() == "queued"  # the workers have not started: nothing ran yet
    screenshot(page, "cast-queued")
    live.platform.start()  # the queued cast runs now; the page hears it over SSE and shows the result
    output = page.locator("[data-cast-output]")
    output.wait_for()
    assert status.inner_text() == "succeeded"
    assert '"greeting": "hello"' in output.inner_text()
    assert '"name": "console"' in output.inner_text()
    screenshot(page, "cast")
    page.get_by_role("link", name="Casts").first.click()
    page.wait_for_url(f"{live.url}/casts")
    assert page.locator("td .status").first.inner_text() == "succeeded"
    screenshot(page, "casts")


def test_the_form_shows_the_schemas_refusal_next_to_the_field(live: LiveServer, page: Any) -> None:
    seed_samples(live.platform)
    caster = seed_user(live.platform, "caster@example.com", ["caster"])
    sign_in(page, live.url, caster.token)
    page.goto(f"{live.url}/spells/samples/hello-wasm")
    # The schema's maxLength is 200; the browser would stop typing there, as a person's would.
    page.get_by_label("name").evaluate("el => el.removeAttribute('maxlength')")
    page.get_by_label("name").fill("x" * 201)
    page.get_by_role("button", name="Cast Hello (WASM)").click()
    error = page.locator(".field-error")
    assert "longer than 200" in error.inner_text()
    assert page.get_by_label("name").get_attribute("aria-invalid") == "true"
    screenshot(page, "spell-invalid")


def test_a_cast_that_wrote_a_file_offers_it_for_download(live: LiveServer, page: Any, tmp_path: Path) -> None:
    maker = maker_of(live)
    spell_id = publish_writer(live.url, maker, tmp_path / "writer")
    caster = seed_user(live.platform, "caster@example.com", ["caster"])
    sign_in(page, live.url, caster.token)
    page.goto(f"{live.url}/spells/{spell_id}")
    page.get_by_label("Input").fill("w:report.txt")
    page.get_by_role("button", name=re.compile("^Cast ")).click()
    page.wait_for_url(re.compile(r".*/casts/cast_[0-9A-Z]+$"))
    link = page.get_by_role("link", name=re.compile("report.txt"))
    link.wait_for()
    with page.expect_download() as waiting:
        link.click()
    download = waiting.value
    saved = tmp_path / "downloaded"
    download.save_as(saved)
    assert download.suggested_filename == "report.txt"
    assert saved.stat().st_size > 0
