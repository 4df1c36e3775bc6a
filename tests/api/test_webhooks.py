"""Signed webhooks for finished casts, and webhook URLs that must not reach inside the network."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from spell.config.server import ServerSettings
from spell.errors import EgressDenied
from spell.platform.server import Platform
from spell.platform.webhook.service import WebhookSender, check_webhook_url, sign_payload
from spell.runtimes.egress import EgressPolicy
from tests.server_fixtures import publish, seed_maker

pytestmark = pytest.mark.anyio

OPEN = EgressPolicy.unsafe_private_allowed()  # the receivers of these tests listen on 127.0.0.1


class Receiver:
    """A local HTTP endpoint standing in for the caster's webhook receiver."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(status)
                self.end_headers()
                receiver.arrived.set()

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.close()


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    return ServerSettings.for_home(
        tmp_path / "home",
        database_url=database_url,
        secret_key="hook-secret",
        workers=2,
        allow_private_webhooks=True,
    )


async def test_a_finished_cast_is_posted_signed_to_its_webhook(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, receiver: Receiver
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    cast = await client.post(
        "/v1/spells/acme/hello/cast",
        json={"input": {"name": "w"}, "webhook_url": receiver.url},
        headers={**maker.headers, "Idempotency-Key": "wh", "Prefer": "wait=10"},
    )
    assert cast.json()["status"] == "succeeded"
    assert receiver.arrived.wait(10)
    headers, body = receiver.requests[0]
    assert headers["Spell-Event"] == "cast.succeeded"
    timestamp = int(headers["Spell-Signature"].split(",")[0].removeprefix("t="))
    assert headers["Spell-Signature"] == sign_payload("hook-secret", timestamp, body)
    assert json.loads(body)["data"]["id"] == cast.json()["id"]


def test_webhook_urls_must_be_public_https() -> None:
    for url in (
        "http://example.com/hook",
        "ftp://example.com",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/x",
        "https://[::1]/x",
        "https://nonexistent.invalid/x",
    ):
        with pytest.raises(EgressDenied):
            check_webhook_url(url, EgressPolicy())
    check_webhook_url("http://127.0.0.1:9/x", EgressPolicy.unsafe_private_allowed())


async def test_a_cast_with_an_internal_webhook_is_refused_by_default(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    platform.casts.policy = replace(platform.casts.policy, webhook_egress=EgressPolicy())
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        json={"input": {"name": "w"}, "webhook_url": "https://127.0.0.1/hook"},
        headers={**maker.headers, "Idempotency-Key": "bad"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "EGRESS_DENIED"
    assert (await client.get("/v1/casts", headers=maker.headers)).json()["items"] == []


def test_the_sender_retries_and_reports_a_receiver_that_keeps_failing() -> None:
    failing = Receiver(status=500)
    try:
        sender = WebhookSender("s", egress=OPEN, attempts=2, backoff_s=0.0)
        assert sender.send(failing.url, "cast.failed", {"id": "cast_1"}) is False
        assert len(failing.requests) == 2
        closed = WebhookSender("s", egress=OPEN, attempts=1, timeout_s=0.5)
        assert closed.send("http://127.0.0.1:9/x", "e", {}) is False
    finally:
        failing.close()
