"""Following a cast to its end: by long poll (``GET ?wait``) unless events were asked for, blocking and
asyncio, against a live server; the requests made are recorded by the client's transport."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import anyio
import httpx
import pytest

from spell.client import AsyncClient, Client
from spell.client.models import CastEvent, CastOut
from spell.config.server import ServerSettings
from spell.errors import CastNotFound
from spell.runtimes.base import Runtime
from spell.signing.signature import sign_bundle
from spell.storage.session import Database
from tests.client.live_server import LiveServer, maker_of, serving, writer_bundle
from tests.fixtures.bundles import wasm_bundle
from tests.fixtures.server import started_platform

SLEEPER_WAT = (Path(__file__).resolve().parents[1] / "assets" / "wasm" / "sleeper.wat").read_text(
    encoding="utf-8"
)
WRITER_CAST = "/v1/spells/acme/writer/cast"

Request = tuple[str, str, str]


def _record(requests: list[Request], polled: threading.Event, request: httpx.Request) -> None:
    query = request.url.query.decode()
    requests.append((request.method, request.url.path, query))
    if "wait=" in query:
        polled.set()


class _Recording(httpx.HTTPTransport):
    """The live server's transport, keeping (method, path, query) of every request; ``polled`` is set
    once a long poll was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self.polled = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _record(self.requests, self.polled, request)
        return super().handle_request(request)


class _AsyncRecording(httpx.AsyncHTTPTransport):
    """``_Recording`` for the asyncio client."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self.polled = threading.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _record(self.requests, self.polled, request)
        return await super().handle_async_request(request)


def _publish(live: LiveServer, tmp_path: Path) -> str:
    """The free writer spell and a sleeper (an hour's sleep, stopped by its 2.5 s time limit), published
    by a maker; the maker's key."""
    maker = maker_of(live)
    signer = maker.publisher
    assert signer is not None
    sleeper = wasm_bundle(tmp_path / "sleeper", "acme/sleeper", wat=SLEEPER_WAT, schema={}, timeout_ms=2500)
    sign_bundle(sleeper, signer.private_key, key_id=signer.key_id)
    with Client(live.url, maker.token) as client:
        client.spells.register_key("acme", signer.key_id, signer.public_key)
        client.spells.publish(writer_bundle(tmp_path / "writer", signer, priced=False))
        client.spells.publish(sleeper)
    return maker.token


@pytest.fixture
def short_polls(
    server_settings: ServerSettings, database: Database, runtimes: dict[str, Runtime]
) -> Iterator[LiveServer]:
    """A live server that holds a long poll 1 s at most, so a cast outlives several of them."""
    settings = replace(server_settings, max_wait_seconds=1)
    for platform in started_platform(settings, database, runtimes):
        with serving(platform, settings) as server:
            yield server


def test_a_queued_cast_is_followed_by_one_long_poll(live: LiveServer, tmp_path: Path) -> None:
    transport = _Recording()
    with Client(live.url, _publish(live, tmp_path), transport=transport) as client:
        cast = client.cast("acme/writer", "w:a.txt", wait=True)
        assert cast.status == "succeeded"
        assert transport.requests == [("POST", WRITER_CAST, ""), ("GET", f"/v1/casts/{cast.id}", "wait=60")]
        assert cast == client.casts.get(cast.id)


def test_on_event_still_follows_the_event_stream(live: LiveServer, tmp_path: Path) -> None:
    transport = _Recording()
    seen: list[CastEvent] = []
    with Client(live.url, _publish(live, tmp_path), transport=transport) as client:
        cast = client.cast("acme/writer", "w:a.txt", wait=True, on_event=seen.append)
    assert cast.status == "succeeded"
    assert seen[-1].type == "succeeded"
    assert transport.requests == [
        ("POST", WRITER_CAST, ""),
        ("GET", f"/v1/casts/{cast.id}/events", ""),
        ("GET", f"/v1/casts/{cast.id}", ""),
    ]


def test_a_failed_cast_is_returned_as_ended(live: LiveServer, tmp_path: Path) -> None:
    with Client(live.url, _publish(live, tmp_path)) as client:
        cast = client.cast("acme/writer", "", wait=True)  # too short an input: the spell exits 100
    assert cast.status == "failed"
    assert cast.error is not None


def test_a_button_press_waits_by_long_poll(live: LiveServer, tmp_path: Path) -> None:
    transport = _Recording()
    with Client(live.url, _publish(live, tmp_path), transport=transport) as client:
        client.buttons.create("go", "acme/writer", "1.0.0", require_signature=False)
        cast = client.buttons.press("go", "w:a.txt", wait=True)
    assert cast.status == "succeeded"
    assert transport.requests[-2:] == [
        ("POST", "/v1/buttons/go/cast", ""),
        ("GET", f"/v1/casts/{cast.id}", "wait=60"),
    ]


def test_waiting_on_an_unknown_cast_raises_cast_not_found(live: LiveServer, tmp_path: Path) -> None:
    transport = _Recording()
    with Client(live.url, _publish(live, tmp_path), transport=transport) as client:
        with pytest.raises(CastNotFound):
            client.casts.wait("c_unknown")
        with pytest.raises(CastNotFound):
            client.casts.wait("c_unknown", on_event=lambda _event: None)
    assert transport.requests == [
        ("GET", "/v1/casts/c_unknown", "wait=60"),
        ("GET", "/v1/casts/c_unknown/events", ""),
    ]


def test_a_cast_that_outlives_a_poll_is_polled_again(short_polls: LiveServer, tmp_path: Path) -> None:
    transport = _Recording()
    with Client(short_polls.url, _publish(short_polls, tmp_path), transport=transport) as client:
        cast = client.cast("acme/sleeper", {}, wait=True)
    assert cast.status == "timeout"
    polls = transport.requests[1:]
    assert len(polls) >= 2
    assert set(polls) == {("GET", f"/v1/casts/{cast.id}", "wait=60")}


def test_a_cast_canceled_while_polled_is_returned_canceled(short_polls: LiveServer, tmp_path: Path) -> None:
    transport = _Recording()
    key = _publish(short_polls, tmp_path)
    with Client(short_polls.url, key, transport=transport) as client, Client(short_polls.url, key) as other:
        started = client.cast("acme/sleeper", {})

        def cancel_once_polled() -> None:
            assert transport.polled.wait(30)
            other.casts.cancel(started.id)

        canceller = threading.Thread(target=cancel_once_polled)
        canceller.start()
        cast = client.casts.wait(started.id)
        canceller.join()
    assert cast.status == "canceled"
    assert all(r == ("GET", f"/v1/casts/{cast.id}", "wait=60") for r in transport.requests[1:])


@pytest.mark.anyio
async def test_async_a_queued_cast_is_followed_by_one_long_poll(live: LiveServer, tmp_path: Path) -> None:
    transport = _AsyncRecording()
    async with AsyncClient(live.url, _publish(live, tmp_path), transport=transport) as client:
        cast = await client.cast("acme/writer", "w:a.txt", wait=True)
        assert cast.status == "succeeded"
        assert transport.requests == [("POST", WRITER_CAST, ""), ("GET", f"/v1/casts/{cast.id}", "wait=60")]
        assert cast == await client.casts.get(cast.id)
        seen: list[CastEvent] = []
        again = await client.cast("acme/writer", "w:b.txt", wait=True, on_event=seen.append)
        assert again.status == "succeeded"
        assert seen[-1].type == "succeeded"
        assert ("GET", f"/v1/casts/{again.id}/events", "") in transport.requests


@pytest.mark.anyio
async def test_async_unknown_canceled_and_failed_casts(short_polls: LiveServer, tmp_path: Path) -> None:
    transport = _AsyncRecording()
    key = _publish(short_polls, tmp_path)
    async with AsyncClient(short_polls.url, key, transport=transport) as client:
        with pytest.raises(CastNotFound):
            await client.casts.wait("c_unknown")
        failed = await client.cast("acme/writer", "", wait=True)
        assert failed.status == "failed"
        started = await client.cast("acme/sleeper", {})
        transport.polled.clear()
        followed: list[CastOut] = []

        async def follow() -> None:
            followed.append(await client.casts.wait(started.id))

        async with anyio.create_task_group() as group:
            group.start_soon(follow)
            assert await anyio.to_thread.run_sync(transport.polled.wait, 30)
            await client.casts.cancel(started.id)
        assert [c.status for c in followed] == ["canceled"]
    polls = [r for r in transport.requests if r[1] == f"/v1/casts/{started.id}" and r[2] == "wait=60"]
    assert polls
