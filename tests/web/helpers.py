"""What console tests share: seeding the samples, signing a browser in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spell.platform.demo import seed_demo
from spell.platform.server import Platform

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
