"""What the API fuzz (tests/api/test_fuzz.py) found, each pinned by a focused test: answers the OpenAPI
document did not list, request shapes it did not describe, a 500 on large budget caps, booleans or
floats taken as budget caps and numbers as booleans, NUL characters PostgreSQL refuses (a 500) and
webhook URLs with a bad port or host (a 500)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from spell.kit.money import MAX_MICROS
from spell.platform.server import Platform
from tests.fixtures.server import publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio

# Writes "\0oops" to stderr and exits with code 3.
NUL_STDERR_WAT = """
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "\\00oops")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 5))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 16)))
    (call $exit (i32.const 3))))
"""


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


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/keys", {"name": "k", "test": 1}),
        ("/v1/keys", {"name": "k", "test": "yes"}),
        ("/v1/buttons", {"id": "b", "spell_id": "acme/x", "version": "1.0.0", "require_signature": 0}),
        ("/v1/buttons", {"id": "b", "spell_id": "acme/x", "version": "1.0.0", "require_confirmation": 1.0}),
        ("/v1/buttons/b/cast", {"input": {}, "confirm": 1}),
    ],
)
async def test_json_booleans_are_true_or_false_only(
    client: httpx.AsyncClient, platform: Platform, path: str, body: dict[str, Any]
) -> None:
    maker = seed_user(platform, "maker@example.com", ["maker", "caster"])
    headers = {**maker.headers, "Idempotency-Key": "bool"}
    response = await client.post(path, headers=headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    keys = (await client.get("/v1/keys", headers=maker.headers)).json()["items"]
    assert [key["name"] for key in keys] == ["test"]


async def test_a_body_that_is_not_utf8_answers_the_documented_422(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "caster@example.com", ["caster"])
    headers = {**caster.headers, "Content-Type": "application/json"}
    before = (await client.get("/v1/keys", headers=caster.headers)).json()["items"]
    response = await client.post("/v1/keys", headers=headers, content=b'{"name": "\xff"}')
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert (await client.get("/v1/keys", headers=caster.headers)).json()["items"] == before
    documented = (await _operation(client, "post", "/v1/keys"))["responses"]["422"]
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert documented["content"]["application/json"]["schema"] == envelope


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


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/spells/acme/a%00b", None),
        ("GET", "/v1/casts?spell_id=a%00b", None),
        ("DELETE", "/v1/keys/key_%00", None),
        ("POST", "/v1/spells/acme/a%00b/cast", {"input": {}}),
        ("POST", "/v1/keys", {"name": "a\u0000b"}),
        (
            "POST",
            "/v1/publishers/a%00b/keys",
            {"key_id": "k1", "public_key": "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE"},
        ),
    ],
)
async def test_text_with_nul_is_refused_alike_on_both_backends(
    client: httpx.AsyncClient, platform: Platform, method: str, path: str, body: object
) -> None:
    maker = seed_user(platform, "maker@example.com", ["maker", "caster"])
    headers = {**maker.headers, "Idempotency-Key": "nul"}
    response = await client.request(method, path, headers=headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    keys = (await client.get("/v1/keys", headers=maker.headers)).json()["items"]
    assert [key["name"] for key in keys] == ["test"]


async def test_a_spell_failing_with_nul_in_its_stderr_ends_failed_with_its_message(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, spell_id="acme/nul", wat=NUL_STDERR_WAT, schema={"type": "object"})
    response = await client.post(
        "/v1/spells/acme/nul/cast",
        headers={**maker.headers, "Idempotency-Key": "nul", "Prefer": "wait=10"},
        json={"input": {}},
    )
    assert response.status_code == 200, response.text
    cast = response.json()
    assert cast["status"] == "failed"
    assert "\ufffdoops" in cast["error"]["message"]


@pytest.mark.parametrize(
    "url", ["https://10.1.2.3:99999/hook", "https://192.168.1.1:port/hook", "https://[::1/hook"]
)
async def test_a_malformed_webhook_url_is_refused_before_the_cast_is_made(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, url: str
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, spell_id="acme/hook", schema={"type": "object"})
    response = await client.post(
        "/v1/spells/acme/hook/cast",
        headers={**maker.headers, "Idempotency-Key": "hook"},
        json={"input": {}, "webhook_url": url},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert (await client.get("/v1/casts", headers=maker.headers)).json()["items"] == []
