"""Every refusal of the execution API answers spell-runtime's ``{"ok": false, "error_code", "message"}``
with its code and status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from spell.platform.server import Platform
from tests.api.compat.helpers import button_for_caster
from tests.fixtures.server import Caller, seed_user

pytestmark = pytest.mark.anyio


def _refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False
    assert body["error_code"] == code
    assert isinstance(body["message"], str)
    assert "error" not in body


async def _press(
    client: httpx.AsyncClient, caller: Caller, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = caller.headers | ({"Idempotency-Key": key} if key is not None else {})
    return await client.post("/api/spell-executions", headers=headers, json=body)


async def test_credentials_missing_or_wrong_are_auth_required_and_auth_invalid(
    client: httpx.AsyncClient,
) -> None:
    _refused(await client.get("/api/buttons"), 401, "AUTH_REQUIRED")
    _refused(
        await client.get("/api/spell-executions", headers={"x-api-key": "sk_live_nope"}), 401, "AUTH_INVALID"
    )
    wrong = {"Authorization": "Bearer sk_test_nope"}
    _refused(await client.post("/api/spell-executions", headers=wrong, json={}), 401, "AUTH_INVALID")


async def test_presses_refused_before_a_cast_answer_spell_runtimes_codes(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker, caster = await button_for_caster(client, platform, tmp_path, allowed_roles=["operator"])
    _refused(await _press(client, caster, {"button_id": "greet"}), 403, "ROLE_NOT_ALLOWED")
    _refused(await _press(client, caster, {"button_id": "nope"}), 404, "BUTTON_NOT_FOUND")
    _refused(await _press(client, caster, {}), 400, "BAD_REQUEST")
    _refused(await _press(client, caster, {"button_id": "greet", "spell_id": "x/y"}), 400, "BAD_REQUEST")
    _refused(await _press(client, caster, {"button_id": "greet", "input": [1]}), 400, "BAD_REQUEST")
    _refused(await _press(client, caster, {"button_id": "greet", "dry_run": True}), 400, "BAD_REQUEST")
    _refused(await _press(client, caster, {"button_id": "greet"}, key="a\x7f"), 400, "BAD_REQUEST")
    _refused(await _press(client, caster, {"button_id": "greet"}, key="k" * 129), 400, "BAD_REQUEST")
    confirm = {"id": "careful", "spell_id": "acme/hello", "version": "1.0.0", "require_confirmation": True}
    assert (await client.post("/v1/buttons", headers=maker.headers, json=confirm)).status_code == 201
    unconfirmed = {"button_id": "careful", "input": {"name": "a"}}
    _refused(await _press(client, maker, unconfirmed), 400, "RISK_CONFIRMATION_REQUIRED")
    confirmed = unconfirmed | {"confirmation": {"risk_acknowledged": True}}
    assert (await _press(client, maker, confirmed)).status_code == 202
    # The spell's input schema is checked before the cast is created (spell-runtime: a failed run).
    _refused(await _press(client, maker, confirmed | {"input": {}}), 400, "BAD_REQUEST")
    listed = (await client.get("/api/buttons", headers=maker.headers)).json()["buttons"]
    careful = next(b for b in listed if b["button_id"] == "careful")
    assert careful["required_confirmations"]["risk"] is True
    assert careful["allowed_tenants"] is None


async def test_the_same_key_with_another_request_is_an_idempotency_conflict(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    _, caster = await button_for_caster(client, platform, tmp_path)
    first = await _press(client, caster, {"button_id": "greet", "input": {"name": "a"}}, key="same")
    assert first.status_code == 202
    _refused(
        await _press(client, caster, {"button_id": "greet", "input": {"name": "b"}}, key="same"),
        409,
        "IDEMPOTENCY_CONFLICT",
    )
    # Without a key, each press is a new execution, as in spell-runtime.
    one = await _press(client, caster, {"button_id": "greet", "input": {"name": "a"}})
    two = await _press(client, caster, {"button_id": "greet", "input": {"name": "a"}})
    assert one.json()["execution_id"] != two.json()["execution_id"]


async def test_reads_of_unknown_malformed_or_foreign_executions_are_refused(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    _, caster = await button_for_caster(client, platform, tmp_path)
    created = await _press(client, caster, {"button_id": "greet", "input": {"name": "a"}}, key="r")
    execution_id = created.json()["execution_id"]
    other = seed_user(platform, "other@example.com", ["caster"])
    for suffix in ("", "/events", "/output?path=output"):
        _refused(
            await client.get(f"/api/spell-executions/cast_nope{suffix}", headers=caster.headers),
            404,
            "EXECUTION_NOT_FOUND",
        )
        _refused(
            await client.get(f"/api/spell-executions/{execution_id}{suffix}", headers=other.headers),
            404,
            "EXECUTION_NOT_FOUND",
        )
        _refused(
            await client.get(f"/api/spell-executions/bad%20id{suffix}", headers=caster.headers),
            400,
            "INVALID_EXECUTION_ID",
        )
    for action in ("cancel", "retry"):
        url = f"/api/spell-executions/{execution_id}/{action}"
        _refused(await client.post(url, headers=other.headers), 404, "EXECUTION_NOT_FOUND")
    foreign = {"tenant_id": other.tenant_id}
    _refused(
        await client.get("/api/spell-executions", headers=caster.headers, params=foreign),
        403,
        "TENANT_FORBIDDEN",
    )
    for params in (
        {"status": "done"},
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "x"},
        {"from": "soon"},
        {"from": "2030-01-01", "to": "2020-01-01"},
    ):
        _refused(
            await client.get("/api/spell-executions", headers=caster.headers, params=params),
            400,
            "INVALID_QUERY",
        )


async def test_outputs_need_a_valid_path_to_an_existing_value(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    _, caster = await button_for_caster(client, platform, tmp_path)
    created = await _press(client, caster, {"button_id": "greet", "input": {"name": "a"}}, key="o")
    execution_id = created.json()["execution_id"]
    await client.get(f"/api/spell-executions/{execution_id}/events", headers=caster.headers)  # to its end
    url = f"/api/spell-executions/{execution_id}/output"
    _refused(await client.get(url, headers=caster.headers), 400, "INVALID_QUERY")
    _refused(
        await client.get(url, headers=caster.headers, params={"path": "step..json"}),
        400,
        "INVALID_OUTPUT_PATH",
    )
    _refused(
        await client.get(url, headers=caster.headers, params={"path": "step.main.stdout"}),
        404,
        "OUTPUT_NOT_FOUND",
    )
    _refused(
        await client.get(url, headers=caster.headers, params={"path": "output.nope"}), 404, "OUTPUT_NOT_FOUND"
    )
    whole = await client.get(url, headers=caster.headers, params={"path": "output"})
    assert whole.json()["value"] == {"greeting": "hello", "input": {"name": "a"}}


async def test_an_ended_execution_is_neither_canceled_nor_retried_when_it_succeeded(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    _, caster = await button_for_caster(client, platform, tmp_path)
    created = await _press(client, caster, {"button_id": "greet", "input": {"name": "a"}}, key="t")
    execution_id = created.json()["execution_id"]
    await client.get(f"/api/spell-executions/{execution_id}/events", headers=caster.headers)
    _refused(
        await client.post(f"/api/spell-executions/{execution_id}/cancel", headers=caster.headers),
        409,
        "ALREADY_TERMINAL",
    )
    _refused(
        await client.post(f"/api/spell-executions/{execution_id}/retry", headers=caster.headers),
        409,
        "NOT_RETRYABLE",
    )


async def test_other_paths_and_large_bodies_answer_in_spell_runtimes_shape(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    _refused(await client.get("/api/tenants/t1/usage", headers=caster.headers), 404, "NOT_FOUND")
    _refused(await client.delete("/api/spell-executions", headers=caster.headers), 404, "NOT_FOUND")
    huge = {"button_id": "greet", "input": {"blob": "x" * (3 * 1024 * 1024)}}
    _refused(
        await client.post("/api/spell-executions", headers=caster.headers, json=huge), 413, "INPUT_TOO_LARGE"
    )
    # The /v1 routes keep their own envelope.
    v1 = await client.post("/v1/keys", headers=caster.headers, json={"name": "x" * (3 * 1024 * 1024)})
    assert v1.status_code == 413
    assert v1.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
