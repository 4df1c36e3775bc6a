"""Console tests: a live server (tests/fixtures/live.py) and a headless Chromium driven by Playwright.

Browser modules import ``database_backend`` from tests/fixtures/live.py (SQLite: they test pages,
not storage); HTTP-level modules run on both databases like any API test.

The browser is Debian's ``chromium`` (``SPELL_TEST_CHROMIUM`` names another binary); Playwright never
downloads one. Without it the browser tests skip, or fail under ``SPELL_TEST_REQUIRE_SERVICES=1``.
``SPELL_CONSOLE_SCREENSHOTS=1`` makes the tests that show a page save it under docs/console/
(``scripts/console_screenshots.sh``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spell.config.server import ServerSettings
from spell.platform.server import Platform
from spell.runtimes.base import Runtime
from spell.storage.session import Database
from tests.client.live_server import LiveServer, serving
from tests.fixtures.database import service_unavailable
from tests.fixtures.live import live

__all__ = ["browser", "idle_live", "live", "page", "screenshot"]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "console"


def _chromium() -> str | None:
    named = os.environ.get("SPELL_TEST_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


# Per module: Playwright's sync driver holds an event loop on the main thread while it runs, which
# async (anyio) tests of other modules could not start beside.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for the module's tests (keep async tests out of browser modules)."""
    executable = _chromium()
    if executable is None:
        service_unavailable("no chromium binary (apt-get install chromium, or set SPELL_TEST_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_unavailable("playwright is not installed (pip install playwright)")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and a page in it, phone-sized viewports aside."""
    context = browser.new_context(viewport={"width": 1100, "height": 800}, accept_downloads=True)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    # A script or style the CSP blocked, or a script error, shows up here: no page may have one.
    problems: list[str] = []
    tab.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: problems.append(str(error)))
    yield tab
    context.close()
    assert [p for p in problems if "status of 4" not in p] == []


@pytest.fixture
def idle_live(
    server_settings: ServerSettings, database: Database, runtimes: dict[str, Runtime]
) -> Iterator[LiveServer]:
    """A live server whose workers have not started: casts stay ``queued`` until the test calls
    ``live.platform.start()``, so a page can be watched following a cast from its start."""
    built = Platform.build(server_settings, runtimes=runtimes, database=database)
    try:
        with serving(built, server_settings) as server:
            yield server
    finally:
        built.stop()


def screenshot(page: Any, name: str) -> None:
    """Save the page as docs/console/<name>.png when ``SPELL_CONSOLE_SCREENSHOTS=1``."""
    if os.environ.get("SPELL_CONSOLE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
