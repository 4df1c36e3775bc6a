"""What a WASM spell writes to stderr reaches the caster as a ``log`` event, as host steps' output does."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from spell.platform.server import Platform
from tests.fixtures.server import Caller, publish, seed_maker

pytestmark = pytest.mark.anyio

WASM = Path(__file__).parents[1] / "assets" / "wasm"


def _events(stream: str) -> list[tuple[str, dict[str, object]]]:
    found = []
    for block in stream.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if "event" in fields:
            found.append((fields["event"], json.loads(fields["data"])))
    return found


async def _cast_and_events(
    client: httpx.AsyncClient, caller: Caller, spell_id: str
) -> tuple[dict[str, object], list[tuple[str, dict[str, object]]]]:
    headers = {**caller.headers, "Idempotency-Key": f"logs-{spell_id}", "Prefer": "wait=10"}
    ended = await client.post(f"/v1/spells/{spell_id}/cast", headers=headers, json={"input": {"name": "x"}})
    assert ended.status_code == 200, ended.text
    stream = await client.get(f"/v1/casts/{ended.json()['id']}/events", headers=caller.headers)
    return ended.json(), _events(stream.text)


async def test_a_wasm_spells_stderr_is_a_log_event_before_its_end(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    wat = (WASM / "fail_with_stderr.wat").read_text(encoding="utf-8")
    await publish(client, maker, tmp_path, "acme/grumble", wat=wat)

    cast, events = await _cast_and_events(client, maker, "acme/grumble")

    assert cast["status"] == "failed"
    assert [kind for kind, _ in events] == ["queued", "running", "log", "failed"]
    log = {key: value for key, value in events[2][1].items() if key != "at"}
    assert log == {"step": "wasm", "stream": "stderr", "text": "boom: the input was wrong\n"}


async def test_a_quiet_wasm_spell_has_no_log_event(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, "acme/hello")

    cast, events = await _cast_and_events(client, maker, "acme/hello")

    assert cast["status"] == "succeeded"
    assert "log" not in [kind for kind, _ in events]
