"""What console tests share: seeding the samples, signing a browser in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from spell.platform.demo import seed_demo
from spell.platform.server import Platform
from tests.client.live_server import writer_bundle
from tests.fixtures.bundles import archive_of
from tests.fixtures.server import Caller

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "spells"
DEMO_KEY = ROOT / "examples" / "keys" / "samples__demo.public.b64url.txt"


def seed_samples(platform: Platform) -> str:
    """Publish the example spells (``samples/…``) as the demo user; the demo key's secret."""
    key = DEMO_KEY.read_text(encoding="utf-8").strip()
    seed = seed_demo(platform, EXAMPLES, publisher="samples", key_id="demo", public_key=key)
    assert "samples/hello-wasm@1.0.0" in seed.published, seed.skipped
    return seed.token


def sign_in(page: Any, base_url: str, token: str) -> None:
    """Sign the browser in through the form, as a person would."""
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("API key").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/spells")


def publish_writer(live_url: str, maker: Caller, folder: Path) -> str:
    """Register the maker's publisher key and publish the artifact-writing spell (free); its id."""
    assert maker.publisher is not None
    bundle = writer_bundle(folder, maker.publisher, priced=False)
    with httpx.Client(base_url=live_url, headers=maker.headers, timeout=30) as http:
        registered = http.post(
            f"/v1/publishers/{maker.publisher.name}/keys",
            json={"key_id": maker.publisher.key_id, "public_key": maker.publisher.public_key},
        )
        assert registered.status_code == 201, registered.text
        published = http.post("/v1/spells", content=archive_of(bundle))
        assert published.status_code == 201, published.text
    return "acme/writer"


ORIGIN = "http://spell.test"  # the base URL of the ``client`` fixture
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_in(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in_http(client: httpx.AsyncClient, token: str) -> str:
    """Sign the client in through the form; the session's CSRF token."""
    form = await client.get("/sign-in")
    answer = await client.post(
        "/sign-in",
        data={"api_key": token, "csrf_token": csrf_in(form.text), "next": "/spells"},
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 303, answer.text
    page = await client.get("/spells")
    assert page.status_code == 200, page.text
    return csrf_in(page.text)
