"""The asyncio SDK against a live server: the same flow as the blocking client, awaited."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.client import AsyncClient, RetryPolicy
from spell.client.models import CastEvent
from spell.errors import AuthError, ServerUnreachable
from spell.platform.ledger.errors import InsufficientCredits
from tests.api.money_helpers import credit
from tests.client.live_server import LiveServer, expire_key, free_port, maker_of, writer_bundle
from tests.fixtures.server import seed_user

pytestmark = pytest.mark.anyio


async def _publish(live: LiveServer, tmp_path: Path, *, priced: bool = True) -> str:
    """Register the maker's key and publish the writer spell through the async client; the maker's key."""
    maker = maker_of(live)
    assert maker.publisher is not None
    async with AsyncClient(live.url, maker.token) as client:
        await client.spells.register_key("acme", maker.publisher.key_id, maker.publisher.public_key)
        version = await client.spells.publish(
            writer_bundle(tmp_path / "writer", maker.publisher, priced=priced)
        )
    assert version.spell_id == "acme/writer"
    return maker.token


async def test_publish_cast_follow_download_and_read_usage(live: LiveServer, tmp_path: Path) -> None:
    maker_token = await _publish(live, tmp_path)
    caster = seed_user(live.platform, "caster@example.com", ["caster"])
    credit(live.platform, caster.user_id, 1_000_000)
    seen: list[CastEvent] = []
    async with AsyncClient(live.url, caster.token) as client:
        cast = await client.cast("acme/writer", "w:report.txt", wait=True, on_event=seen.append)
        assert cast.status == "succeeded"
        assert seen[-1].is_terminal
        artifacts = (await client.casts.artifacts(cast.id)).items
        assert await client.artifacts.download(artifacts[0]) == b"x"
        usage = await client.usage(group_by="day")
        assert [i.amount_micros for i in usage.items] == [250_000]
        postings = [e async for e in client.ledger(limit=1)]
        assert len(postings) >= 2
        assert [c.id async for c in client.casts.list(limit=1)] == [cast.id]
    async with AsyncClient(live.url, maker_token) as maker:
        assert (await maker.earnings()).balances
        assert [s.id async for s in maker.spells.list()] == ["acme/writer"]


async def test_events_are_followed_and_resumed(live: LiveServer, tmp_path: Path) -> None:
    token = await _publish(live, tmp_path, priced=False)
    async with AsyncClient(live.url, token) as client:
        cast = await client.cast("acme/writer", "w:a.txt")
        every = [e async for e in client.casts.events(cast.id)]
        assert every[-1].type == "succeeded"
        later = [e.id async for e in client.casts.events(cast.id, after=every[0].id)]
        assert later == [e.id for e in every[1:]]


async def test_errors_are_the_server_classes(live: LiveServer, tmp_path: Path) -> None:
    await _publish(live, tmp_path)
    poor = seed_user(live.platform, "poor@example.com", ["caster"])
    async with AsyncClient(live.url, poor.token) as client:
        with pytest.raises(InsufficientCredits) as caught:
            await client.cast("acme/writer", "w:a.txt")
    assert caught.value.code == "INSUFFICIENT_CREDITS"
    old = seed_user(live.platform, "old@example.com", ["caster"])
    expire_key(live, old)
    async with AsyncClient(live.url, old.token, retry=RetryPolicy(max_retries=0)) as client:
        with pytest.raises(AuthError):
            await client.me()


async def test_an_unreachable_server_raises_server_unreachable() -> None:
    client = AsyncClient(
        f"http://127.0.0.1:{free_port()}", "sk_x", retry=RetryPolicy(max_retries=1, backoff=0.01)
    )
    async with client:
        with pytest.raises(ServerUnreachable):
            await client.me()
