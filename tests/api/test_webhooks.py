"""Webhooks for finished casts: signed with the tenant's own secret (Standard Webhooks, checked with the
stock ``standardwebhooks`` verifier), URLs without credentials and outside the network."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from spell.config.server import ServerSettings
from spell.kit.clock import FakeClock
from spell.kit.time import parse_rfc3339
from spell.models import AuditRecord, WebhookSecret
from spell.platform.server import Platform
from spell.platform.webhook.secret import WebhookSecretService
from spell.runtimes.egress import EgressPolicy
from tests.fakes.webhook_receiver import Receiver
from tests.fixtures import clock as clock_fixtures
from tests.fixtures.server import Caller, publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio

# This module's platform runs on a fake clock that only the tests move.
clock = clock_fixtures.clock
platform = clock_fixtures.platform


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


async def _cast_with_hook(
    client: httpx.AsyncClient, caller: Caller, receiver: Receiver, key: str
) -> tuple[dict[str, str], bytes]:
    receiver.arrived.clear()
    before = len(receiver.requests)
    cast = await client.post(
        "/v1/spells/acme/hello/cast",
        json={"input": {"name": "w"}, "webhook_url": receiver.url},
        headers={**caller.headers, "Idempotency-Key": key, "Prefer": "wait=10"},
    )
    assert cast.json()["status"] == "succeeded", cast.text
    assert receiver.arrived.wait(10)
    headers, body = receiver.requests[before]
    assert json.loads(body)["data"]["id"] == cast.json()["id"]
    return headers, body


async def _secret(client: httpx.AsyncClient, caller: Caller) -> str:
    response = await client.get("/v1/webhooks/secret", headers=caller.headers)
    assert response.status_code == 200, response.text
    secret: str = response.json()["secret"]
    return secret


def _refused_by(secret: str | bytes, headers: dict[str, str], body: bytes) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return True
    return False


async def test_a_finished_cast_is_posted_signed_with_the_tenants_secret_not_the_master_secret(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, receiver: Receiver
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    headers, body = await _cast_with_hook(client, maker, receiver, "wh")
    assert headers["Spell-Event"] == "cast.succeeded"
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= {h.lower() for h in headers}
    assert "Spell-Signature" not in headers
    secret = await _secret(client, maker)
    assert secret.startswith("whsec_")
    assert Webhook(secret).verify(body, headers)["type"] == "cast.succeeded"
    master = platform.secret.encode()
    assert _refused_by(master, headers, body)
    assert _refused_by("whsec_" + base64.b64encode(master).decode(), headers, body)
    assert _refused_by(secret, {**headers, "webhook-id": "msg_other"}, body)


async def test_two_tenants_get_different_secrets_and_each_verifies_only_its_own_deliveries(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, receiver: Receiver
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    caster = seed_user(platform, "c@example.com", ["caster"])
    maker_secret, caster_secret = await _secret(client, maker), await _secret(client, caster)
    assert maker_secret != caster_secret
    assert await _secret(client, maker) == maker_secret  # stable until rotated
    headers, body = await _cast_with_hook(client, caster, receiver, "c1")
    Webhook(caster_secret).verify(body, headers)
    assert _refused_by(maker_secret, headers, body)


async def test_a_rotated_secret_signs_next_deliveries_and_the_old_one_only_within_the_grace(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    old = await _secret(client, maker)
    rotated = await client.post("/v1/webhooks/secret/rotate", headers=maker.headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    assert rotated.json()["rotated_at"] is not None
    assert rotated.json()["previous_valid_until"] is not None
    assert await _secret(client, maker) == new
    with platform.db.unit_of_work(write=False) as uow:
        records = uow.session.scalars(
            select(AuditRecord).where(AuditRecord.action == "webhook_secret.rotated")
        ).all()
        assert [(r.actor_id, r.tenant_id) for r in records] == [(maker.user_id, maker.tenant_id)]
        assert old not in json.dumps(records[0].data)
        assert new not in json.dumps(records[0].data)
    headers, body = await _cast_with_hook(client, maker, receiver, "r1")
    Webhook(new).verify(body, headers)
    Webhook(old).verify(body, headers)  # receivers still on the old secret keep working a while
    newest = (await client.post("/v1/webhooks/secret/rotate", headers=maker.headers)).json()
    until = parse_rfc3339(newest["previous_valid_until"])
    assert until - parse_rfc3339(newest["rotated_at"]) == timedelta(hours=24)
    clock.advance(timedelta(hours=24).total_seconds() - 0.001)
    shown = (await client.get("/v1/webhooks/secret", headers=maker.headers)).json()
    assert shown["previous_valid_until"] == newest["previous_valid_until"]
    clock.advance(0.001)
    shown = (await client.get("/v1/webhooks/secret", headers=maker.headers)).json()
    assert (shown["secret"], shown["previous_valid_until"]) == (newest["secret"], None)
    headers, body = await _cast_with_hook(client, maker, receiver, "r2")
    Webhook(newest["secret"]).verify(body, headers)
    assert _refused_by(new, headers, body)
    assert _refused_by(old, headers, body)


async def test_the_stored_secret_is_sealed_and_opens_only_with_this_servers_key_for_its_tenant(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = seed_user(platform, "a@example.com", ["caster"])
    other = seed_user(platform, "b@example.com", ["caster"])
    secret = await _secret(client, owner)
    await _secret(client, other)
    raw = base64.b64decode(secret.removeprefix("whsec_"))
    with platform.db.unit_of_work() as uow:
        row = uow.session.get(WebhookSecret, owner.tenant_id)
        assert row is not None
        assert raw not in row.sealed
        assert secret.encode() not in row.sealed
        assert platform.webhook_secrets.signing_secrets(uow, owner.tenant_id) == [secret]
        assert WebhookSecretService("another-master").signing_secrets(uow, owner.tenant_id) is None
        victim = uow.session.get(WebhookSecret, other.tenant_id)
        assert victim is not None
        own_sealed, victim.sealed = victim.sealed, row.sealed  # copied onto another tenant, it does not open
        uow.session.flush()
        assert platform.webhook_secrets.signing_secrets(uow, other.tenant_id) is None
        victim.sealed = own_sealed


async def test_the_webhook_secret_needs_the_keys_manage_scope(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    narrow = seed_user(platform, "n@example.com", ["caster"], scopes=["cast:invoke"])
    for response in (
        await client.get("/v1/webhooks/secret", headers=narrow.headers),
        await client.post("/v1/webhooks/secret/rotate", headers=narrow.headers),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "FORBIDDEN"
    with platform.db.unit_of_work(write=False) as uow:
        assert uow.session.get(WebhookSecret, narrow.tenant_id) is None


async def test_a_webhook_url_with_credentials_is_refused_and_not_echoed(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, receiver: Receiver
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    with_credentials = receiver.url.replace("http://", "http://hookuser:hookpass@")
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        json={"input": {"name": "w"}, "webhook_url": with_credentials},
        headers={**maker.headers, "Idempotency-Key": "cred"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "hookpass" not in response.text
    assert (await client.get("/v1/casts", headers=maker.headers)).json()["items"] == []
    assert receiver.requests == []


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


async def test_a_secret_sealed_under_another_server_secret_is_replaced_by_a_fresh_one(
    client: httpx.AsyncClient, platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    before = await _secret(client, caller)
    platform.webhook_secrets = WebhookSecretService("the-server-secret-changed")
    with caplog.at_level(logging.WARNING, logger="spell.platform.webhook.secret"):
        after = (await client.get("/v1/webhooks/secret", headers=caller.headers)).json()
    assert after["secret"] != before
    assert after["rotated_at"] is not None
    assert after["previous_valid_until"] is None  # the old one cannot be opened, so it cannot sign
    assert await _secret(client, caller) == after["secret"]
    assert before not in caplog.text
    assert len([r for r in caplog.records if r.name == "spell.platform.webhook.secret"]) == 1
