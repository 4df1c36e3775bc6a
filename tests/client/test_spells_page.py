"""``spells.page``: one page of the listing and the cursor of the next, for callers that hand the
cursor on (an agent's tool call) instead of iterating."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.client import AsyncClient, Client
from tests.client.live_server import LiveServer
from tests.fixtures.server import seed_user
from tests.mcp.agents import publish_spells

pytestmark = pytest.mark.anyio


async def test_pages_follow_their_cursor_to_the_end(live: LiveServer, tmp_path: Path) -> None:
    publish_spells(live, tmp_path)
    caster = seed_user(live.platform, "reader@example.com", ["caster"])
    with Client(live.url, caster.token) as client:
        first = client.spells.page(sort="recent", limit=2)
        assert first.next_cursor is not None
        rest = client.spells.page(sort="recent", limit=2, cursor=first.next_cursor)
    assert sorted(s.id for s in first.items + rest.items) == ["acme/sleeper", "acme/wipe", "acme/writer"]
    assert rest.next_cursor is None
    async with AsyncClient(live.url, caster.token) as client:
        again = await client.spells.page(sort="recent", limit=2, cursor=first.next_cursor)
    assert [s.id for s in again.items] == [s.id for s in rest.items]
