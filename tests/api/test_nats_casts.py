"""Casting end to end with NATS JetStream as the work queue (the scale-out switch)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from spell.config.server import ServerSettings
from spell.platform.server import Platform
from spell.runtimes.base import Runtime
from spell.storage.session import Database
from tests.fixtures.nats import delete_stream, nats_queue_or_skip
from tests.fixtures.server import publish, seed_maker

pytestmark = pytest.mark.anyio


@pytest.fixture
def platform(
    server_settings: ServerSettings, database: Database, runtimes: dict[str, Runtime]
) -> Iterator[Platform]:
    queue, stream = nats_queue_or_skip()
    built = Platform.build(server_settings, runtimes=runtimes, database=database, queue=queue)
    built.start()
    yield built
    built.stop()
    delete_stream(stream)


async def test_a_cast_runs_through_nats_and_a_replay_does_not_run_twice(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    headers = {**maker.headers, "Idempotency-Key": "n1", "Prefer": "wait=15"}
    first = await client.post("/v1/spells/acme/hello/cast", headers=headers, json={"input": {"name": "nats"}})
    assert first.json()["status"] == "succeeded", first.text
    again = await client.post("/v1/spells/acme/hello/cast", headers=headers, json={"input": {"name": "nats"}})
    assert again.json()["idempotent_replay"] is True
    events = (await client.get(f"/v1/casts/{first.json()['id']}/events", headers=maker.headers)).text
    assert events.count("event: running") == 1
