"""spell-runtime's own client flow against our /api routes, with the bodies its browser client
(src/api/ui.ts) and README send: list buttons, press one, follow the events to ``succeeded``, read
the execution, its receipt and an output, find it in the list."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.platform.server import Platform
from tests.api.compat.helpers import button_for_caster, sse_events

pytestmark = pytest.mark.anyio


async def test_a_spell_runtime_client_presses_a_button_follows_it_to_succeeded_and_reads_the_output(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    _, caster = await button_for_caster(client, platform, tmp_path, allowed_roles=["caster"])
    auth = {"x-api-key": caster.token}  # spell-runtime's clients send x-api-key or a Bearer token

    listed = await client.get("/api/buttons", headers=auth)
    assert listed.status_code == 200, listed.text
    registry = listed.json()
    assert registry["ok"] is True
    assert registry["version"] == "v1"
    [button] = registry["buttons"]
    assert button["button_id"] == "greet"
    assert button["spell_id"] == "acme/hello"
    assert button["version"] == "1.0.0"
    assert button["required_confirmations"] == {"risk": False, "billing": False}
    assert button["allowed_roles"] == ["caster"]
    assert button["allowed_tenants"] == ["*"]

    body = {
        "button_id": button["button_id"],
        "dry_run": False,
        "actor_role": "caster",
        "input": {"name": "world"},
        "confirmation": {"risk_acknowledged": False, "billing_acknowledged": False},
    }
    headers = {**auth, "Idempotency-Key": "press-1"}
    created = await client.post("/api/spell-executions", headers=headers, json=body)
    assert created.status_code == 202, created.text
    accepted = created.json()
    assert accepted["ok"] is True
    assert accepted["tenant_id"] == caster.tenant_id
    assert accepted["status"] in ("queued", "running", "succeeded")
    assert "idempotent_replay" not in accepted
    execution_id = accepted["execution_id"]

    replay = await client.post("/api/spell-executions", headers=headers, json=body)
    assert replay.status_code == 202
    assert replay.json()["execution_id"] == execution_id
    assert replay.json()["idempotent_replay"] is True

    stream = await client.get(f"/api/spell-executions/{execution_id}/events", headers=auth)
    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = sse_events(stream.text)
    names = [name for name, _ in events]
    assert names[0] == "snapshot"
    assert names[-1] == "terminal"
    assert set(names) <= {"snapshot", "execution", "terminal"}
    final = events[-1][1]
    assert final["execution"]["execution_id"] == execution_id
    assert final["execution"]["status"] == "succeeded"
    assert final["receipt"]["success"] is True

    detail = await client.get(f"/api/spell-executions/{execution_id}", headers=auth)
    assert detail.status_code == 200
    shown = detail.json()
    assert shown["ok"] is True
    execution = shown["execution"]
    assert execution["status"] == "succeeded"
    assert execution["button_id"] == "greet"
    assert execution["spell_id"] == "acme/hello"
    assert execution["version"] == "1.0.0"
    assert execution["tenant_id"] == caster.tenant_id
    assert execution["require_signature"] is True
    assert execution["message"] == "completed"
    assert "error_code" not in execution
    assert {"created_at", "started_at", "finished_at"} <= set(execution)
    assert shown["receipt"]["execution_id"] == execution_id
    assert shown["receipt"]["id"] == "acme/hello"

    output = await client.get(
        f"/api/spell-executions/{execution_id}/output", headers=auth, params={"path": "output.input.name"}
    )
    assert output.status_code == 200, output.text
    assert output.json() == {
        "ok": True,
        "execution_id": execution_id,
        "path": "output.input.name",
        "value": "world",
    }

    page = await client.get(
        "/api/spell-executions", headers=auth, params={"status": "succeeded", "limit": "20"}
    )
    assert page.status_code == 200
    listing = page.json()
    assert listing["ok"] is True
    assert [e["execution_id"] for e in listing["executions"]] == [execution_id]
    assert listing["filters"]["status"] == ["succeeded"]
    assert listing["filters"]["limit"] == 20
    assert listing["filters"]["tenant_id"] == caster.tenant_id
    queued_only = await client.get("/api/spell-executions", headers=auth, params={"status": "queued,running"})
    assert queued_only.json()["executions"] == []


async def test_a_bearer_token_works_as_well_and_the_list_filters_by_button_and_time(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    _, caster = await button_for_caster(client, platform, tmp_path)
    for key in ("a", "b"):
        created = await client.post(
            "/api/spell-executions",
            headers={**caster.headers, "Idempotency-Key": key},
            json={"button_id": "greet", "input": {"name": key}},
        )
        assert created.status_code == 202, created.text
    cast = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "plain"},
        json={"input": {"name": "c"}},
    )
    assert cast.status_code in (200, 202)
    everything = (await client.get("/api/spell-executions", headers=caster.headers)).json()["executions"]
    assert len(everything) == 3
    pressed = await client.get("/api/spell-executions", headers=caster.headers, params={"button_id": "greet"})
    assert len(pressed.json()["executions"]) == 2
    one = await client.get("/api/spell-executions", headers=caster.headers, params={"limit": "1"})
    assert [e["execution_id"] for e in one.json()["executions"]] == [everything[0]["execution_id"]]
    future = await client.get(
        "/api/spell-executions", headers=caster.headers, params={"from": "2999-01-01T00:00:00Z"}
    )
    assert future.json()["executions"] == []
    past = await client.get(
        "/api/spell-executions", headers=caster.headers, params={"to": "2000-01-01T00:00:00Z"}
    )
    assert past.json()["executions"] == []
