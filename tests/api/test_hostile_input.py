"""Hostile input through the real app is a 4xx with a stable code, and changes nothing.

Each request here answered 500 (or crashed the handler) before the strict JSON guard, the bounds on
amounts and versions, and the checks in the services.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from spell.api import create_app
from spell.api.routing import GuardedRoute
from spell.config.server import ServerSettings
from spell.errors import InvalidInput
from spell.platform.cast.service import CastRequestBody
from spell.platform.server import Platform
from spell.signing.signature import sign_bundle
from tests.fixtures.bundles import archive_of, wasm_bundle
from tests.fixtures.server import Caller, publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# Bodies whose "input" Python's json module reads but nothing further in can hold.
HOSTILE_INPUTS = {
    "integer past 2^53": b'{"name": "x", "n": 9007199254740993}',
    "integer of 5000 digits": b'{"name": "x", "n": ' + b"9" * 5000 + b"}",
    "NaN": b'{"name": "x", "n": NaN}',
    "Infinity": b'{"name": "x", "n": Infinity}',
    "-Infinity": b'{"name": "x", "n": -Infinity}',
    "a number that overflows to infinity": b'{"name": "x", "n": 1e400}',
    "lone surrogate": b'{"name": "\\ud800"}',
    "lone surrogate in a member name": b'{"name": "x", "\\udfff": 1}',
    "NUL, which PostgreSQL cannot store": b'{"name": "a\\u0000b"}',
    "600 levels of nesting": b'{"name": "x", "deep": ' + _nested(600) + b"}",
    "100000 levels of nesting": b'{"name": "x", "deep": ' + _nested(100_000) + b"}",
}


def _cast_body(raw_input: bytes) -> bytes:
    return b'{"input": ' + raw_input + b"}"


async def _casts(client: httpx.AsyncClient, caller: Caller) -> list[Any]:
    listed = await client.get("/v1/casts", headers=caller.headers)
    assert listed.status_code == 200, listed.text
    items: list[Any] = listed.json()["items"]
    return items


def _assert_validation_error(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["errors"][0]["path"].startswith("body")


@pytest.mark.parametrize("raw_input", HOSTILE_INPUTS.values(), ids=HOSTILE_INPUTS.keys())
async def test_hostile_cast_estimate_and_button_input_is_422_and_creates_no_cast(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, raw_input: bytes
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, schema={"type": "object"})
    created = await client.post(
        "/v1/buttons",
        headers=maker.headers,
        json={"id": "go", "spell_id": "acme/hello", "version": "1.0.0"},
    )
    assert created.status_code == 201, created.text
    headers = {**maker.headers, "Content-Type": "application/json", "Prefer": "wait=5"}
    body = _cast_body(raw_input)
    for url in ("/v1/spells/acme/hello/cast", "/v1/buttons/go/cast"):
        answer = await client.post(url, content=body, headers={**headers, "Idempotency-Key": url})
        _assert_validation_error(answer)
    estimate = await client.post("/v1/spells/acme/hello/estimate", content=body, headers=headers)
    _assert_validation_error(estimate)
    assert await _casts(client, maker) == []


async def test_a_hostile_body_names_where_it_is_wrong(client: httpx.AsyncClient, platform: Platform) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    answer = await client.post(
        "/v1/spells/acme/hello/cast",
        content=b'{"input": {"a": [1, {"b": NaN}], "c": "\\ud800"}}',
        headers={**caster.headers, "Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    _assert_validation_error(answer)
    surrogate = await client.post(
        "/v1/spells/acme/hello/cast",
        content=b'{"input": {"a": [1, {"b": "\\ud800"}]}}',
        headers={**caster.headers, "Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    _assert_validation_error(surrogate)
    assert surrogate.json()["error"]["details"]["errors"][0]["path"] == "body/input/a/1/b"


async def test_the_cast_service_refuses_input_that_no_json_reader_holds(platform: Platform) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    with platform.db.unit_of_work(write=False) as uow:
        principal = platform.auth.authenticate_key(uow, caster.token)
    deep: list[Any] = []
    for _ in range(200):
        deep = [deep]
    for value in ({"n": float("nan")}, {"n": 2**60}, {"s": "\udc80"}, deep):
        with pytest.raises(InvalidInput) as exc:
            platform.casts.create(
                principal, CastRequestBody(spell_id="acme/hello", input=value), f"k{secrets.token_hex(4)}"
            )
        assert exc.value.code == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/v1/spells?q=%00", None),
        ("GET", "/v1/spells/acme%00x", None),
        ("GET", "/v1/spells/acme/hello%00/versions", None),
        ("GET", "/v1/casts?spell_id=%00", None),
        ("GET", "/v1/casts?cursor=a%00", None),
        ("GET", "/v1/casts/cast%00", None),
        ("DELETE", "/v1/keys/key%00", None),
        ("DELETE", "/v1/buttons/b%00", None),
        ("POST", "/v1/spells/acme/hello/versions/1.0.0%00/yank", None),
        ("POST", "/v1/keys", {"name": "a\x00"}),
    ],
)
async def test_nul_in_a_url_or_body_is_422_on_every_backend(
    client: httpx.AsyncClient, platform: Platform, method: str, url: str, body: Any
) -> None:
    caller = seed_user(platform, "c@example.com", ["maker"])
    answer = await client.request(method, url, headers=caller.headers, json=body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "VALIDATION_ERROR"), answer.text
    keys = await client.get("/v1/keys", headers=caller.headers)
    assert len(keys.json()["items"]) == 1


async def test_a_ledger_cursor_past_int64_is_422(client: httpx.AsyncClient, platform: Platform) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    ledger = await client.get("/v1/ledger?cursor=9999999999999999999", headers=caster.headers)
    assert (ledger.status_code, ledger.json()["error"]["code"]) == (422, "VALIDATION_ERROR")


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in routes:
        included = getattr(route, "original_router", None)  # an included router, kept as one entry
        if included is not None:
            found += _api_routes(list(included.routes))
        elif isinstance(route, APIRoute):
            found.append(route)
    return found


async def test_every_route_reads_bodies_through_the_strict_json_guard(
    server_settings: ServerSettings, platform: Platform
) -> None:
    app = create_app(server_settings, platform=platform, manage=False)
    routes = _api_routes(list(app.routes))
    assert len(routes) > 20
    assert [r.path for r in routes if not isinstance(r, GuardedRoute)] == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "k", "scopes": ["spell:read"], "note": NaN}',
        b'{"name": "k", "scopes": ["spell:read"], "note": 9007199254740993}',
        b'{"name": "k", "scopes": ["spell:read"], "note": ' + _nested(600) + b"}",
        b'{"name": "k", "scopes": ' + _nested(5000) + b"}",
    ],
    ids=["NaN", "integer past 2^53", "600 levels", "5000 levels"],
)
async def test_other_json_routes_refuse_hostile_bodies_too(
    client: httpx.AsyncClient, platform: Platform, body: bytes
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    answer = await client.post(
        "/v1/keys", content=body, headers={**caster.headers, "Content-Type": "application/json"}
    )
    _assert_validation_error(answer)
    keys = await client.get("/v1/keys", headers=caster.headers)
    assert len(keys.json()["items"]) == 1


async def test_a_chunked_body_past_the_limit_is_413_on_json_routes(
    client: httpx.AsyncClient, platform: Platform, server_settings: ServerSettings
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"input": {"name": "'
        for _ in range(server_settings.max_body_bytes // 65536 + 1):
            yield b"x" * 65536
        yield b'"}}'

    answer = await client.post(
        "/v1/spells/acme/hello/cast",
        content=chunks(),
        headers={**caster.headers, "Idempotency-Key": "big", "Content-Type": "application/json"},
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert answer.json()["error"]["details"] == {"max_bytes": server_settings.max_body_bytes}
    assert await _casts(client, caster) == []


async def test_a_non_ascii_artifact_signature_is_401(client: httpx.AsyncClient, platform: Platform) -> None:
    for sig in ("%C3%A9", "%E2%82%AC" * 32, "%F0%9F%94%A5"):
        answer = await client.get(f"/v1/artifacts/art_x?expires=9999999999&sig={sig}")
        assert (answer.status_code, answer.json()["error"]["code"]) == (401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "expires_at",
    ["2030-01-01T00:00:00", "2030-01-01", "9999-12-31T23:59:59-14:00"],
    ids=["no time zone", "a date", "past year 9999 in UTC"],
)
async def test_a_key_expiry_without_a_time_zone_or_past_9999_is_422_and_makes_no_key(
    client: httpx.AsyncClient, platform: Platform, expires_at: str
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    answer = await client.post(
        "/v1/keys",
        headers=caster.headers,
        json={"name": "k", "scopes": ["spell:read"], "expires_at": expires_at},
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "VALIDATION_ERROR")
    keys = await client.get("/v1/keys", headers=caster.headers)
    assert [k["name"] for k in keys.json()["items"]] == ["test"]


@pytest.mark.parametrize("cap", [2**53, 2**60, 2**63, 2**64, 10**30])
async def test_budget_caps_past_the_largest_amount_are_422_and_change_nothing(
    client: httpx.AsyncClient, platform: Platform, cap: int
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    answer = await client.put("/v1/budget", headers=caster.headers, json={"daily_micros": cap})
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "VALIDATION_ERROR")
    budget = (await client.get("/v1/budget", headers=caster.headers)).json()
    assert budget["caps"]["daily_micros"] is None
    largest = await client.put("/v1/budget", headers=caster.headers, json={"daily_micros": 2**53 - 1})
    assert largest.status_code == 200, largest.text


async def test_card_amounts_past_the_largest_amount_are_422(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    # Whole cents, so only the size is wrong; the wallet-only platform would answer 503 otherwise.
    for url, body in [
        ("/v1/billing/top-ups", {"amount_micros": 10**16}),
        ("/v1/billing/checkout-url", {"success_url": "x", "cancel_url": "x", "top_up_micros": 10**16}),
    ]:
        answer = await client.post(url, headers=caster.headers, json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (422, "VALIDATION_ERROR"), url


PRICINGS = {
    "flat past int64": "pricing:\n  model: flat\n  amount_micros: 9223372036854775808\n",
    "flat past 2^53": "pricing:\n  model: flat\n  amount_micros: 18014398509481984\n",
    "an event price past int64": (
        "pricing:\n  model: per_event\n  events:\n    page: 99999999999999999999999\n  max_events: 5\n"
    ),
    "metered whose hold is past 2^53": (
        "pricing:\n  model: metered\n  amount_micros: 1\n  per_compute_ms_micros: 1000000000000000\n"
    ),
    "per_event whose hold is past 2^53": (
        "pricing:\n  model: per_event\n  events:\n    page: 9000000000000000\n  max_events: 1000\n"
    ),
    "a spell-runtime billing cap past the largest amount": (
        "billing:\n  enabled: true\n  mode: upfront\n  max_amount: 1.0e+300\n"
    ),
}


async def _publish_raw(client: httpx.AsyncClient, maker: Caller, bundle: Path) -> httpx.Response:
    return await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))


@pytest.mark.parametrize("pricing", PRICINGS.values(), ids=PRICINGS.keys())
async def test_a_price_past_the_largest_amount_is_refused_at_publish(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, pricing: str
) -> None:
    maker = await seed_maker(client, platform)
    assert maker.publisher is not None
    bundle = wasm_bundle(tmp_path / "b", "acme/dear", signer=maker.publisher)
    # Appended after signing: the manifest is read, and refused, before the signature is checked.
    with (bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(pricing)
    answer = await _publish_raw(client, maker, bundle)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "INVALID_MANIFEST")
    missing = await client.get("/v1/spells/acme/dear", headers=maker.headers)
    assert missing.status_code == 404


async def test_a_hold_past_the_largest_amount_is_refused_even_when_signed(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    assert maker.publisher is not None
    bundle = wasm_bundle(tmp_path / "b", "acme/dear")
    with (bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(PRICINGS["metered whose hold is past 2^53"])
    sign_bundle(bundle, maker.publisher.private_key, key_id=maker.publisher.key_id)
    answer = await _publish_raw(client, maker, bundle)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "INVALID_MANIFEST")
    assert answer.json()["error"]["details"]["max_micros"] == 2**53 - 1


async def test_a_5000_digit_version_is_refused_at_publish_and_in_routes(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    assert maker.publisher is not None
    long = "1.0." + "9" * 5000
    bundle = wasm_bundle(tmp_path / "long", "acme/hello", signer=maker.publisher)
    text = (bundle / "spell.yaml").read_text(encoding="utf-8")
    (bundle / "spell.yaml").write_text(text.replace("version: 1.0.0", f"version: {long}"), encoding="utf-8")
    answer = await _publish_raw(client, maker, bundle)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "INVALID_MANIFEST")
    versions = (await client.get("/v1/spells/acme/hello/versions", headers=maker.headers)).json()["items"]
    assert [v["version"] for v in versions] == ["1.0.0"]
    headers = {**maker.headers, "Idempotency-Key": "v"}
    for answer in (
        await client.post("/v1/spells/acme/hello/cast", headers=headers, json={"version": long}),
        await client.post("/v1/spells/acme/hello/estimate", headers=maker.headers, json={"version": long}),
        await client.post(f"/v1/spells/acme/hello/versions/{long}/yank", headers=maker.headers),
    ):
        assert 400 <= answer.status_code < 500, answer.text
