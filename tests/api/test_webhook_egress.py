"""Webhook URLs on a server: refused in every spelling of an inside address, checked again at delivery
against the address dialled, and resolved off the event loop."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from spell.platform.server import Platform
from spell.platform.webhook.service import Answer, WebhookSender
from spell.runtimes.egress import EgressPolicy
from tests.fakes.webhook_receiver import Receiver
from tests.fixtures.server import Caller, publish, seed_maker
from tests.runtimes.egress.world import PUBLIC, World

pytestmark = pytest.mark.anyio

LOOPBACK_HOOKS = [
    "https://127.0.0.1/hook",
    "https://2130706433/hook",
    "https://127.1/hook",
    "https://0x7f.1/hook",
    "https://0177.0.0.1/hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://localhost/hook",  # the system resolver answers it from the hosts file
    "https://169.254.169.254/latest/meta-data",
    "http://hooks.example.test/hook",  # plain http, refused before any resolution
]


class RecordingSender(WebhookSender):
    """Delivers as the platform does and records each delivery's result."""

    def __init__(self, egress: EgressPolicy) -> None:
        super().__init__(egress=egress, timeout_s=5)
        self.results: list[bool] = []
        self.delivered = threading.Event()

    def attempt(self, url: str, msg_id: str, event: str, body: bytes, *, secrets: Sequence[str]) -> Answer:
        answer = super().attempt(url, msg_id, event, body, secrets=secrets)
        self.results.append(answer.is_success)
        self.delivered.set()
        return answer


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.close()


async def _caster(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> Caller:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    return maker


def _cast(client: httpx.AsyncClient, caller: Caller, hook: str, key: str) -> Any:
    return client.post(
        "/v1/spells/acme/hello/cast",
        json={"input": {"name": "w"}, "webhook_url": hook},
        headers={**caller.headers, "Idempotency-Key": key, "Prefer": "wait=10"},
    )


async def test_every_spelling_of_an_inside_address_is_refused_as_a_webhook_url(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    assert platform.casts.policy.webhook_egress == EgressPolicy()  # strict unless the operator opens it
    caster = await _caster(client, platform, tmp_path)
    for n, hook in enumerate(LOOPBACK_HOOKS):
        response = await _cast(client, caster, hook, f"k{n}")
        assert response.status_code == 403, (hook, response.text)
        assert response.json()["error"]["code"] == "EGRESS_DENIED", hook
    assert (await client.get("/v1/casts", headers=caster.headers)).json()["items"] == []


async def test_a_webhook_name_that_rebinds_to_loopback_after_the_check_is_not_delivered(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, receiver: Receiver
) -> None:
    port = receiver.server.server_address[1]
    # Public when the cast is created, loopback (where the receiver listens) when it is delivered.
    world = World({"hooks.example.test": [[PUBLIC], ["127.0.0.1"]]}, public_port=port)
    egress = EgressPolicy(allow_http=True, resolver=world.resolve, dial=world.dial)
    platform.casts.policy = replace(platform.casts.policy, webhook_egress=egress)
    sender = platform.casts.webhooks = RecordingSender(egress)
    caster = await _caster(client, platform, tmp_path)
    cast = await _cast(client, caster, f"http://hooks.example.test:{port}/hook", "rebind")
    assert cast.json()["status"] == "succeeded"
    assert sender.delivered.wait(10)
    assert sender.results == [False]
    assert world.resolved == ["hooks.example.test", "hooks.example.test"]
    assert world.dialled == []
    assert receiver.requests == []


async def test_a_webhook_is_delivered_to_the_address_its_name_was_checked_at(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, receiver: Receiver
) -> None:
    port = receiver.server.server_address[1]
    world = World({"hooks.example.test": [[PUBLIC]]}, public_port=port)
    egress = EgressPolicy(allow_http=True, resolver=world.resolve, dial=world.dial)
    platform.casts.policy = replace(platform.casts.policy, webhook_egress=egress)
    sender = platform.casts.webhooks = RecordingSender(egress)
    caster = await _caster(client, platform, tmp_path)
    await _cast(client, caster, f"http://hooks.example.test:{port}/hook", "ok")
    assert sender.delivered.wait(10)
    assert sender.results == [True]
    assert world.dialled == [(PUBLIC, port)]
    assert len(receiver.requests) == 1


async def test_a_webhook_redirect_is_not_followed(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    moved = Receiver(status=307)
    try:
        egress = EgressPolicy.unsafe_private_allowed()
        platform.casts.policy = replace(platform.casts.policy, webhook_egress=egress)
        sender = platform.casts.webhooks = RecordingSender(egress)
        caster = await _caster(client, platform, tmp_path)
        await _cast(client, caster, moved.url, "moved")
        assert sender.delivered.wait(10)
        assert sender.results == [False]
        assert len(moved.requests) == 1
    finally:
        moved.close()


async def test_resolving_a_webhook_url_does_not_hold_the_event_loop(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    entered, release, returned = threading.Event(), threading.Event(), threading.Event()

    def slow_dns(host: str, port: int) -> Sequence[str]:
        entered.set()
        release.wait(3)  # bounded, so that a loop it held is a failure and not a hang
        returned.set()
        return [PUBLIC]

    egress = EgressPolicy(resolver=slow_dns)
    platform.casts.policy = replace(platform.casts.policy, webhook_egress=egress)
    platform.casts.webhooks = None  # the resolution on creation is what this test is about
    caster = await _caster(client, platform, tmp_path)
    # A first cast warms the spell so the next one may take the quickest path (on the loop's thread).
    warm = await client.post(
        "/v1/spells/acme/hello/cast",
        json={"input": {"name": "w"}},
        headers={**caster.headers, "Idempotency-Key": "warm", "Prefer": "wait=10"},
    )
    assert warm.json()["status"] == "succeeded"
    answers: list[httpx.Response] = []

    async def cast_with_hook() -> None:
        answers.append(await _cast(client, caster, "https://hooks.example.test/hook", "slow"))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(cast_with_hook)
        with anyio.fail_after(10):
            assert await anyio.to_thread.run_sync(entered.wait, 10)
            health = await client.get("/healthz")
        assert health.status_code == 200
        served_while_resolving = not returned.is_set()
        release.set()
    assert served_while_resolving
    assert answers[0].json()["status"] == "succeeded"
