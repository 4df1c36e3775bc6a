"""What the API fuzz (tests/api/test_fuzz.py) found, each pinned by a focused test: answers the OpenAPI
document did not list, request shapes it did not describe, a 500 on large budget caps and booleans or
floats taken as budget caps."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from spell.kit.money import MAX_MICROS
from spell.platform.server import Platform
from tests.server_fixtures import seed_user

pytestmark = pytest.mark.anyio


async def _operation(client: httpx.AsyncClient, method: str, path: str) -> dict[str, Any]:
    document = (await client.get("/openapi.json")).json()
    operation: dict[str, Any] = document["paths"][path][method]
    return operation


async def test_budget_caps_past_the_exact_json_integers_are_refused_and_change_nothing(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "caster@example.com", ["caster"])
    assert (
        await client.put("/v1/budget", headers=caster.headers, json={"daily_micros": 5})
    ).status_code == 200
    # Past 2^53 the audit record of the change (RFC 8785 JSON) cannot hold the amount: this was a 500.
    for cap in ("per_cast_micros", "daily_micros", "monthly_micros", "total_micros"):
        response = await client.put("/v1/budget", headers=caster.headers, json={cap: MAX_MICROS + 1})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    caps = (await client.get("/v1/budget", headers=caster.headers)).json()["caps"]
    assert caps["daily_micros"] == 5
    largest = await client.put("/v1/budget", headers=caster.headers, json={"total_micros": MAX_MICROS})
    assert largest.status_code == 200, largest.text
    assert largest.json()["caps"]["total_micros"] == MAX_MICROS


@pytest.mark.parametrize("amount", [False, True, 2.0, "7"])
async def test_budget_caps_are_json_integers_only(
    client: httpx.AsyncClient, platform: Platform, amount: object
) -> None:
    caster = seed_user(platform, "caster@example.com", ["caster"])
    assert (
        await client.put("/v1/budget", headers=caster.headers, json={"daily_micros": 5})
    ).status_code == 200
    # `false` was taken as a cap of 0, `true` as 1 micro-unit
    response = await client.put("/v1/budget", headers=caster.headers, json={"daily_micros": amount})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    caps = (await client.get("/v1/budget", headers=caster.headers)).json()["caps"]
    assert caps["daily_micros"] == 5


async def test_a_body_that_is_not_utf8_answers_the_documented_400(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "caster@example.com", ["caster"])
    headers = {**caster.headers, "Content-Type": "application/json"}
    response = await client.post("/v1/keys", headers=headers, content=b'{"name": "\xff"}')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BAD_REQUEST"
    documented = (await _operation(client, "post", "/v1/keys"))["responses"]["400"]
    assert documented["content"]["application/json"]["schema"]["required"] == ["ok", "error"]


@pytest.mark.parametrize("path", ["/v1/spells/{spell_id}/cast", "/v1/buttons/{button_id}/cast"])
async def test_cast_routes_document_the_required_idempotency_key_and_their_402_and_503(
    client: httpx.AsyncClient, path: str
) -> None:
    operation = await _operation(client, "post", path)
    headers = {p["name"].lower(): p for p in operation["parameters"] if p["in"] == "header"}
    assert headers["idempotency-key"]["required"] is True
    assert {"402", "503"} <= set(operation["responses"])
    assert "application/json" in operation["responses"]["402"]["content"]


async def test_the_document_describes_the_publish_body_the_event_stream_and_artifact_downloads(
    client: httpx.AsyncClient,
) -> None:
    publish = await _operation(client, "post", "/v1/spells")
    assert publish["requestBody"]["required"] is True
    assert "application/x-tar" in publish["requestBody"]["content"]
    events = await _operation(client, "get", "/v1/casts/{cast_id}/events")
    assert "text/event-stream" in events["responses"]["200"]["content"]
    download = await _operation(client, "get", "/v1/artifacts/{artifact_id}")
    assert "*/*" in download["responses"]["200"]["content"]
    stripe = await _operation(client, "post", "/v1/webhooks/stripe")
    assert "application/json" in stripe["requestBody"]["content"]
