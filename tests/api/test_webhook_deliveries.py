"""Durable webhooks through the API: endpoints per tenant with their own secrets, deliveries retried on
the schedule (on the injected clock), a log of every attempt, redelivery by hand, tenants kept apart."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from spell.config.server import ServerSettings
from spell.config.webhooks import WebhookSettings
from spell.kit.clock import FakeClock
from spell.kit.time import parse_rfc3339
from spell.platform.server import Platform
from tests.fakes.webhook_receiver import Receiver
from tests.fixtures import clock as clock_fixtures
from tests.fixtures.server import Caller, publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio

clock = clock_fixtures.clock
platform = clock_fixtures.platform
WAIT_S = 10


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    return ServerSettings.for_home(
        tmp_path / "home",
        database_url=database_url,
        secret_key="hooks",
        workers=2,
        allow_private_webhooks=True,
    )


@pytest.fixture
def flaky() -> Iterator[Receiver]:
    """A receiver that fails twice, then takes deliveries."""
    served = Receiver(statuses=[500, 503])
    yield served
    served.close()


async def _endpoint(
    client: httpx.AsyncClient, caller: Caller, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "description": "orders"}
    if events is not None:
        body["events"] = events
    response = await client.post("/v1/webhooks/endpoints", json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _cast(client: httpx.AsyncClient, caller: Caller, key: str) -> str:
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        json={"input": {"name": "w"}},
        headers={**caller.headers, "Idempotency-Key": key, "Prefer": "wait=10"},
    )
    assert response.json()["status"] == "succeeded", response.text
    return str(response.json()["id"])


async def _deliveries(client: httpx.AsyncClient, caller: Caller, **filters: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/webhooks/deliveries", params=filters, headers=caller.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _attempted(platform: Platform, count: int) -> None:
    """Wake the delivery worker and wait until it recorded ``count`` attempts in all."""
    platform.webhooks.wakeup.set()
    assert platform.webhook_delivery.wait_for_attempts(count, WAIT_S)


async def test_a_webhook_is_delivered_after_two_failed_attempts_and_the_log_shows_all_three(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, clock: FakeClock, flaky: Receiver
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    endpoint = await _endpoint(client, maker, flaky.url, ["cast.succeeded"])
    assert endpoint["secret"].startswith("whsec_")
    cast_id = await _cast(client, maker, "k1")
    _attempted(platform, 1)  # sent at once after the commit: no poll in between
    clock.advance(59)
    assert platform.webhook_delivery.run_due() == 0  # the first retry is due a minute later
    clock.advance(1)
    _attempted(platform, 2)
    clock.advance(299)
    assert platform.webhook_delivery.run_due() == 0  # then five minutes
    clock.advance(1)
    _attempted(platform, 3)
    (delivery,) = await _deliveries(client, maker, endpoint=endpoint["id"])
    assert (delivery["status"], delivery["attempt_count"], delivery["event_type"]) == (
        "delivered",
        3,
        "cast.succeeded",
    )
    assert delivery["next_attempt_at"] is None
    attempts = delivery["attempts"]
    assert [a["number"] for a in attempts] == [1, 2, 3]
    assert [a["status_code"] for a in attempts] == [500, 503, 200]
    times = [parse_rfc3339(a["at"]) for a in attempts]
    assert [later - earlier for earlier, later in itertools.pairwise(times)] == [
        timedelta(seconds=60),
        timedelta(seconds=300),
    ]
    assert delivery["delivered_at"] == attempts[-1]["at"]
    # Three requests, one message: the same webhook-id and body, each signed with the endpoint's secret.
    assert len(flaky.requests) == 3
    assert {headers["webhook-id"] for headers, _ in flaky.requests} == {delivery["id"]}
    assert len({body for _, body in flaky.requests}) == 1
    headers, body = flaky.requests[-1]
    event = Webhook(endpoint["secret"]).verify(body, headers)
    assert (event["type"], event["data"]["id"], event["data"]["status"]) == (
        "cast.succeeded",
        cast_id,
        "succeeded",
    )
    assert delivery["payload"] == json.loads(body)


async def test_every_lifecycle_event_reaches_an_endpoint_that_takes_all(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    up = Receiver()
    try:
        maker = await seed_maker(client, platform)
        await publish(client, maker, tmp_path)
        endpoint = await _endpoint(client, maker, up.url)
        assert endpoint["events"] == []
        cast_id = await _cast(client, maker, "all")
        _attempted(platform, 3)
        shown = await _deliveries(client, maker)
        assert sorted(d["event_type"] for d in shown) == ["cast.queued", "cast.running", "cast.succeeded"]
        assert {d["status"] for d in shown} == {"delivered"}
        assert {d["payload"]["data"]["id"] for d in shown} == {cast_id}
        only = await _deliveries(client, maker, event="cast.running", status="delivered")
        assert [d["event_type"] for d in only] == ["cast.running"]
    finally:
        up.close()


async def test_a_delivery_fails_past_the_last_retry_and_a_redelivery_sends_it_again(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, clock: FakeClock
) -> None:
    platform.webhook_delivery.settings = WebhookSettings(retry_schedule=(60,))
    down = Receiver(statuses=[500, 500])
    try:
        maker = await seed_maker(client, platform)
        await publish(client, maker, tmp_path)
        await _endpoint(client, maker, down.url, ["cast.succeeded"])
        await _cast(client, maker, "k")
        _attempted(platform, 1)
        clock.advance(60)
        _attempted(platform, 2)
        (failed,) = await _deliveries(client, maker, status="failed")
        assert (failed["attempt_count"], failed["last_status_code"], failed["next_attempt_at"]) == (
            2,
            500,
            None,
        )
        clock.advance(3600)
        assert platform.webhook_delivery.run_due() == 0  # failed for good: no more tries
        again = await client.post(f"/v1/webhooks/deliveries/{failed['id']}/redeliver", headers=maker.headers)
        assert again.status_code == 202, again.text
        assert again.json()["status"] == "pending"
        assert [a["number"] for a in again.json()["attempts"]] == [1, 2]
        _attempted(platform, 3)
        (delivered,) = await _deliveries(client, maker)
        assert (delivered["status"], delivered["attempt_count"]) == ("delivered", 3)
        assert [a["status_code"] for a in delivered["attempts"]] == [500, 500, 200]
        assert len({headers["webhook-id"] for headers, _ in down.requests}) == 1
    finally:
        down.close()


async def test_a_tenant_never_sees_or_touches_another_tenants_endpoints_or_deliveries(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    up = Receiver()
    try:
        maker = await seed_maker(client, platform)
        await publish(client, maker, tmp_path)
        endpoint = await _endpoint(client, maker, up.url, ["cast.succeeded"])
        await _cast(client, maker, "mine")
        _attempted(platform, 1)
        (delivery,) = await _deliveries(client, maker)
        other = seed_user(platform, "other@example.com", ["caster"])
        assert (await client.get("/v1/webhooks/endpoints", headers=other.headers)).json()["items"] == []
        assert await _deliveries(client, other) == []
        assert await _deliveries(client, other, endpoint=endpoint["id"]) == []
        for response, code in (
            (
                await client.post(
                    f"/v1/webhooks/deliveries/{delivery['id']}/redeliver", headers=other.headers
                ),
                "WEBHOOK_DELIVERY_NOT_FOUND",
            ),
            (
                await client.delete(f"/v1/webhooks/endpoints/{endpoint['id']}", headers=other.headers),
                "WEBHOOK_ENDPOINT_NOT_FOUND",
            ),
            (
                await client.post(f"/v1/webhooks/endpoints/{endpoint['id']}/rotate", headers=other.headers),
                "WEBHOOK_ENDPOINT_NOT_FOUND",
            ),
        ):
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == code
        listed = (await client.get("/v1/webhooks/endpoints", headers=maker.headers)).json()["items"]
        assert [e["id"] for e in listed] == [endpoint["id"]]
        assert "secret" not in listed[0]
    finally:
        up.close()


async def test_webhook_endpoints_and_deliveries_need_the_keys_manage_scope(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    narrow = seed_user(platform, "n@example.com", ["caster"], scopes=["cast:invoke"])
    for response in (
        await client.post(
            "/v1/webhooks/endpoints", json={"url": "https://example.com/h"}, headers=narrow.headers
        ),
        await client.get("/v1/webhooks/endpoints", headers=narrow.headers),
        await client.delete("/v1/webhooks/endpoints/whep_x", headers=narrow.headers),
        await client.post("/v1/webhooks/endpoints/whep_x/rotate", headers=narrow.headers),
        await client.get("/v1/webhooks/deliveries", headers=narrow.headers),
        await client.post("/v1/webhooks/deliveries/msg_x/redeliver", headers=narrow.headers),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "FORBIDDEN"


async def test_bad_endpoints_and_filters_are_refused_with_their_codes(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caller = seed_user(platform, "a@example.com", ["caster"])
    cases = [
        ({"url": "http://127.0.0.1:9/h", "events": ["cast.exploded"]}, 422, "VALIDATION_ERROR"),
        ({"url": "http://user:pw@127.0.0.1:9/h"}, 422, "VALIDATION_ERROR"),
        ({"url": "http://127.0.0.1:9/h", "description": "x" * 201}, 422, "VALIDATION_ERROR"),
        ({"url": "ftp://127.0.0.1:9/h"}, 403, "EGRESS_DENIED"),
    ]
    for body, status, code in cases:
        response = await client.post("/v1/webhooks/endpoints", json=body, headers=caller.headers)
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
    for params in ({"status": "lost"}, {"event": "cast.exploded"}, {"limit": "0"}):
        response = await client.get("/v1/webhooks/deliveries", params=params, headers=caller.headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_an_internal_endpoint_url_is_refused_unless_the_operator_allows_it(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    from spell.runtimes.egress import EgressPolicy

    platform.webhooks.endpoints.egress = EgressPolicy()
    caller = seed_user(platform, "a@example.com", ["caster"])
    response = await client.post(
        "/v1/webhooks/endpoints", json={"url": "https://127.0.0.1/hook"}, headers=caller.headers
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "EGRESS_DENIED"


async def test_a_rotated_endpoint_secret_signs_next_deliveries_with_the_old_one_alongside(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    up = Receiver()
    try:
        maker = await seed_maker(client, platform)
        await publish(client, maker, tmp_path)
        endpoint = await _endpoint(client, maker, up.url, ["cast.succeeded"])
        rotated = await client.post(f"/v1/webhooks/endpoints/{endpoint['id']}/rotate", headers=maker.headers)
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["secret"] != endpoint["secret"]
        assert rotated.json()["rotated_at"] is not None
        await _cast(client, maker, "r")
        _attempted(platform, 1)
        headers, body = up.requests[-1]
        Webhook(rotated.json()["secret"]).verify(body, headers)
        Webhook(endpoint["secret"]).verify(body, headers)  # receivers still on the old one keep working
        tenant_secret = (await client.get("/v1/webhooks/secret", headers=maker.headers)).json()["secret"]
        with pytest.raises(Exception, match="No matching signature"):
            Webhook(tenant_secret).verify(body, headers)  # an endpoint signs with its own secret only
    finally:
        up.close()


async def test_a_removed_endpoint_gets_nothing_more_and_its_pending_deliveries_fail(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    up = Receiver()
    try:
        maker = await seed_maker(client, platform)
        await publish(client, maker, tmp_path)
        endpoint = await _endpoint(client, maker, up.url, ["cast.succeeded"])
        sender, platform.casts.webhooks = platform.casts.webhooks, None  # hold deliveries in the outbox
        await _cast(client, maker, "held")
        removed = await client.delete(f"/v1/webhooks/endpoints/{endpoint['id']}", headers=maker.headers)
        assert removed.status_code == 204, removed.text
        assert (await client.get("/v1/webhooks/endpoints", headers=maker.headers)).json()["items"] == []
        platform.casts.webhooks = sender
        _attempted(platform, 1)
        (delivery,) = await _deliveries(client, maker)
        assert (delivery["status"], delivery["last_error"]) == ("failed", "endpoint removed")
        await _cast(client, maker, "after")
        assert len(await _deliveries(client, maker)) == 1  # nothing new is queued for it
        assert up.requests == []
    finally:
        up.close()


async def test_a_casts_own_webhook_url_is_a_delivery_in_the_same_log_signed_with_the_tenants_secret(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    up = Receiver()
    try:
        maker = await seed_maker(client, platform)
        await publish(client, maker, tmp_path)
        response = await client.post(
            "/v1/spells/acme/hello/cast",
            json={"input": {"name": "w"}, "webhook_url": up.url + "?token=query-secret"},
            headers={**maker.headers, "Idempotency-Key": "own", "Prefer": "wait=10"},
        )
        assert response.json()["status"] == "succeeded", response.text
        _attempted(platform, 1)
        (delivery,) = await _deliveries(client, maker)
        assert (delivery["endpoint_id"], delivery["event_type"], delivery["status"]) == (
            None,
            "cast.succeeded",
            "delivered",
        )
        assert delivery["url"] == up.url  # shown without its query, which may hold a credential
        assert [a["status_code"] for a in delivery["attempts"]] == [200]
        secret = (await client.get("/v1/webhooks/secret", headers=maker.headers)).json()["secret"]
        headers, body = up.requests[-1]
        assert Webhook(secret).verify(body, headers)["data"]["id"] == response.json()["id"]
        assert headers["webhook-id"] == delivery["id"]
    finally:
        up.close()


async def test_an_operator_refund_reaches_the_casters_endpoint_as_cast_refunded(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    from tests.api.money_helpers import FLAT, credit, publish_priced

    up = Receiver()
    try:
        maker = await seed_maker(client, platform)
        await publish_priced(client, maker, tmp_path, FLAT)
        caster = seed_user(platform, "c@example.com", ["caster"])
        credit(platform, caster.user_id, 1_000_000)
        await _endpoint(client, caster, up.url, events=["cast.refunded"])
        cast = await client.post(
            "/v1/spells/acme/paid/cast",
            headers={**caster.headers, "Idempotency-Key": "k1", "Prefer": "wait=20"},
            json={"input": {"name": "x"}},
        )
        assert cast.json()["status"] == "succeeded", cast.text
        admin = seed_user(platform, "ops@example.com", ["admin"], scopes=["admin"])
        refund = await client.post(
            "/v1/admin/refunds",
            headers={**admin.headers, "Idempotency-Key": "r1"},
            json={"cast_id": cast.json()["id"], "amount_micros": 100_000, "reason": "slow"},
        )
        assert refund.status_code == 201, refund.text
        _attempted(platform, 1)
        [delivery] = await _deliveries(client, caster)
        assert (delivery["event_type"], delivery["status"]) == ("cast.refunded", "delivered")
        assert delivery["payload"]["data"]["id"] == refund.json()["id"]
        assert delivery["payload"]["data"]["amount_micros"] == 100_000
        assert await _deliveries(client, maker) == []
    finally:
        up.close()
