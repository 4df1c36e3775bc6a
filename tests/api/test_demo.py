"""``spell serve --demo`` seeding: the example spells publish and cast on a fresh server."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.platform.demo import seed_demo
from spell.platform.server import Platform

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "spells"
DEMO_KEY = ROOT / "examples" / "keys" / "samples__demo.public.b64url.txt"


async def test_the_demo_publishes_the_examples_and_casts_hello_wasm(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    if not (EXAMPLES / "hello-wasm" / "spell.wasm").is_file():
        pytest.fail("examples/spells/hello-wasm/spell.wasm is missing: run examples/spells/build.sh")
    key = DEMO_KEY.read_text(encoding="utf-8").strip()
    seed = seed_demo(platform, EXAMPLES, publisher="samples", key_id="demo", public_key=key)
    assert "samples/hello-wasm@1.0.0" in seed.published
    # host/docker examples are refused by a server that has not enabled those runtimes; nothing else fails
    assert all(reason.startswith("POLICY_DENIED") for reason in seed.skipped.values()), seed.skipped
    again = seed_demo(platform, EXAMPLES, publisher="samples", key_id="demo", public_key=key)
    assert again.user_id == seed.user_id
    response = await client.post(
        "/v1/spells/samples/hello-wasm/cast",
        headers={"Authorization": f"Bearer {again.token}", "Idempotency-Key": "demo", "Prefer": "wait=10"},
        json={"input": {"name": "world"}},
    )
    assert response.json()["status"] == "succeeded"
    assert response.json()["output"]["greeting"] == "hello"


async def test_a_missing_examples_folder_publishes_nothing(platform: Platform, tmp_path: Path) -> None:
    seed = seed_demo(
        platform,
        tmp_path / "none",
        publisher="samples",
        key_id="demo",
        public_key=DEMO_KEY.read_text(encoding="utf-8").strip(),
    )
    assert seed.published == []
