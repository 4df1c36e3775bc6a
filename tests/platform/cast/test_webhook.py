"""A cast's webhook: posted as the cast now is, signed with its tenant's secret, and never raising
after the end it reports has committed."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from spell.platform.server import Platform
from spell.platform.webhook.service import WebhookSender
from tests.fixtures.server import publish, seed_maker

pytestmark = pytest.mark.anyio

HOOK = "https://hooks.example.com/spell"


class Recorder(WebhookSender):
    """Records what would be posted instead of posting it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, dict[str, Any], int]] = []

    def send_async(
        self, url: str, event: str, payload: dict[str, Any], *, secrets: Sequence[str]
    ) -> threading.Thread:
        self.sent.append((url, event, payload, len(secrets)))
        return threading.Thread(target=lambda: None)


async def _ended_cast(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> str:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**maker.headers, "Idempotency-Key": "w", "Prefer": "wait=20"},
        json={"input": {"name": "w"}},
    )
    assert response.json()["status"] == "succeeded", response.text
    return str(response.json()["id"])


async def test_the_webhook_carries_the_cast_as_it_ended_signed_with_the_tenants_secret(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    cast_id = await _ended_cast(client, platform, tmp_path)
    recorder = Recorder()
    platform.casts.webhooks = recorder
    platform.casts.parts.webhooks.send(HOOK, cast_id)
    ((url, event, payload, secrets),) = recorder.sent
    assert (url, event, payload["id"], payload["status"]) == (HOOK, "cast.succeeded", cast_id, "succeeded")
    assert secrets >= 1  # the tenant's first delivery made its secret


async def test_a_webhook_that_cannot_be_prepared_is_logged_and_not_raised(
    client: httpx.AsyncClient,
    platform: Platform,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cast_id = await _ended_cast(client, platform, tmp_path)
    recorder = Recorder()
    platform.casts.webhooks = recorder
    webhooks = platform.casts.parts.webhooks

    def broken(*_args: Any) -> None:
        raise RuntimeError("the secrets table is gone")

    monkeypatch.setattr(webhooks.secrets, "signing_secrets", broken)
    webhooks.send(HOOK, cast_id)
    assert recorder.sent == []
    assert f"cast {cast_id}: its webhook could not be sent" in caplog.text


async def test_without_a_sender_nothing_is_sent_and_nothing_is_read(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cast_id = await _ended_cast(client, platform, tmp_path)
    platform.casts.webhooks = None
    monkeypatch.setattr(platform.db, "unit_of_work", None)  # any read would fail
    platform.casts.parts.webhooks.send(HOOK, cast_id)
