"""What the compatibility tests share: a published spell behind a button, SSE parsing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from spell.platform.server import Platform
from tests.fixtures.server import Caller, publish, seed_maker, seed_user


async def button_for_caster(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, **fields: Any
) -> tuple[Caller, Caller]:
    """A maker's ``acme/hello`` behind the button ``greet`` shared with every tenant, and a caster of
    another tenant; extra ``fields`` go into the button (and ``publish_*`` ones into the spell)."""
    maker = await seed_maker(client, platform)
    spell = {
        key.removeprefix("publish_"): value for key, value in fields.items() if key.startswith("publish_")
    }
    await publish(client, maker, tmp_path, **spell)
    body = {"id": "greet", "spell_id": "acme/hello", "version": "1.0.0", "allowed_tenants": ["*"]}
    body |= {key: value for key, value in fields.items() if not key.startswith("publish_")}
    created = await client.post("/v1/buttons", headers=maker.headers, json=body)
    assert created.status_code == 201, created.text
    return maker, seed_user(platform, "caster@example.com", ["caster"])


def sse_events(stream: str) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) of each event of an SSE body; comments (``: ping``) are skipped."""
    found = []
    for block in stream.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if "event" in fields:
            found.append((fields["event"], json.loads(fields["data"])))
    return found
