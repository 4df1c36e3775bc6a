"""The MCP server at /mcp over streamable HTTP, driven by the MCP SDK's client against a live server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from mcp.shared.exceptions import MCPError
from sqlalchemy import update

from spell.api import create_app
from spell.client import Client as SpellClient
from spell.client.models import BudgetCaps
from spell.config.server import ServerSettings
from spell.kit.time import utcnow
from spell.models import Artifact, Cast
from spell.platform.server import Platform
from tests.api.money_helpers import credit
from tests.client.live_server import LiveServer
from tests.fixtures.server import Caller, seed_user
from tests.mcp.agents import (
    Progress,
    data,
    http_agent,
    list_detail_estimate_cast_and_read,
    publish_spells,
    refusal,
)

pytestmark = pytest.mark.anyio


async def test_an_agent_lists_details_estimates_casts_with_progress_and_reads_the_artifact(
    live: LiveServer, funded_caster: Caller
) -> None:
    caster = funded_caster
    async with http_agent(live, caster.token) as agent:
        cast_id = await list_detail_estimate_cast_and_read(agent)
        budget = data(await agent.call_tool("budget_get", {}))
        assert budget["balance_micros"] == 750_000
        templates = {t.uri_template for t in (await agent.list_resource_templates()).resource_templates}
        assert templates == {"artifact://{cast_id}/{+name}", "spell://{publisher}/{spell_name}@{version}"}
        manifest = await agent.read_resource("spell://acme/writer@1.0.0")
        assert json.loads(getattr(manifest.contents[0], "text", ""))["id"] == "acme/writer"
    with live.platform.db.unit_of_work() as uow:
        assert uow.session.get(Cast, cast_id) is not None


async def test_a_cast_that_outlives_the_wait_returns_its_id_and_casts_get_completes_it(
    live: LiveServer, tmp_path: Path
) -> None:
    publish_spells(live, tmp_path)
    caster = seed_user(live.platform, "agent@example.com", ["caster"])
    async with http_agent(live, caster.token) as agent:
        started = data(await agent.call_tool("spells_cast", {"spell_id": "acme/sleeper", "wait_seconds": 0}))
        assert started["done"] is False
        assert started["status"] in ("queued", "running")
        ended = data(await agent.call_tool("casts_get", {"cast_id": started["cast_id"], "wait_seconds": 30}))
    assert ended["cast_id"] == started["cast_id"]
    assert ended["done"] is True
    assert ended["status"] == "timeout"


async def test_progress_streams_while_the_cast_runs(live: LiveServer, tmp_path: Path) -> None:
    publish_spells(live, tmp_path)
    caster = seed_user(live.platform, "agent@example.com", ["caster"])
    progress = Progress()
    async with http_agent(live, caster.token) as agent:
        arguments = {"spell_id": "acme/sleeper", "wait_seconds": 1}
        cast = data(await agent.call_tool("spells_cast", arguments, progress_callback=progress))
    # The sleeper runs until its 1.5 s timeout: the wait ends first, with the running stage already sent.
    assert cast["done"] is False
    assert ("running", 10) in [(note["stage"], note["pct"]) for note in progress.notes]
    assert all(note["cast_id"] == cast["cast_id"] for note in progress.notes)


async def test_a_budget_capped_caster_gets_the_402_code_and_retry_after_as_a_tool_error(
    live: LiveServer, tmp_path: Path
) -> None:
    publish_spells(live, tmp_path)
    caster = seed_user(live.platform, "capped@example.com", ["caster"])
    credit(live.platform, caster.user_id, 1_000_000)
    with SpellClient(live.url, caster.token) as client:
        client.budget.set(BudgetCaps(daily_micros=1))
    async with http_agent(live, caster.token) as agent:
        result = await agent.call_tool("spells_cast", {"spell_id": "acme/writer", "input": "w:a.txt"})
    error = refusal(result)
    assert error["code"] == "BUDGET_CAP_EXCEEDED"
    assert 0 < error["retry_after"] <= 86_400
    assert "BUDGET_CAP_EXCEEDED" in getattr(result.content[0], "text", "")


async def test_a_caster_without_credit_gets_insufficient_credits(live: LiveServer, tmp_path: Path) -> None:
    publish_spells(live, tmp_path)
    caster = seed_user(live.platform, "broke@example.com", ["caster"])
    async with http_agent(live, caster.token) as agent:
        error = refusal(await agent.call_tool("spells_cast", {"spell_id": "acme/writer", "input": "w:a.txt"}))
    assert error["code"] == "INSUFFICIENT_CREDITS"


async def test_a_key_without_cast_invoke_is_refused_and_nothing_is_cast(
    live: LiveServer, tmp_path: Path
) -> None:
    publish_spells(live, tmp_path)
    reader = seed_user(live.platform, "reader@example.com", ["caster"], scopes=["spell:read"])
    async with http_agent(live, reader.token) as agent:
        assert (
            data(await agent.call_tool("spells_detail", {"spell_id": "acme/sleeper"}))["id"] == "acme/sleeper"
        )
        error = refusal(await agent.call_tool("spells_cast", {"spell_id": "acme/sleeper"}))
    assert error["code"] == "FORBIDDEN"
    with live.platform.db.unit_of_work() as uow:
        assert uow.session.query(Cast).count() == 0


async def test_a_high_risk_spell_needs_confirm(live: LiveServer, tmp_path: Path) -> None:
    publish_spells(live, tmp_path)
    caster = seed_user(live.platform, "agent@example.com", ["caster"])
    async with http_agent(live, caster.token) as agent:
        detail = data(await agent.call_tool("spells_detail", {"spell_id": "acme/wipe"}))
        assert (detail["risk"], detail["needs_confirm"]) == ("high", True)
        error = refusal(
            await agent.call_tool("spells_cast", {"spell_id": "acme/wipe", "input": {"name": "x"}})
        )
        assert error["code"] == "CONFIRMATION_REQUIRED"
        with live.platform.db.unit_of_work() as uow:
            assert uow.session.query(Cast).count() == 0
        confirmed = await agent.call_tool(
            "spells_cast", {"spell_id": "acme/wipe", "input": {"name": "x"}, "confirm": True}
        )
    assert data(confirmed)["status"] == "succeeded"


async def test_an_input_the_schema_refuses_is_a_tool_error_before_any_cast(
    live: LiveServer, funded_caster: Caller
) -> None:
    caster = funded_caster
    async with http_agent(live, caster.token) as agent:
        error = refusal(await agent.call_tool("spells_cast", {"spell_id": "acme/writer", "input": {"n": 1}}))
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["errors"]
    with live.platform.db.unit_of_work() as uow:
        assert uow.session.query(Cast).count() == 0


async def test_an_unknown_version_and_an_unknown_spell_are_not_found(
    live: LiveServer, tmp_path: Path
) -> None:
    publish_spells(live, tmp_path)
    caster = seed_user(live.platform, "agent@example.com", ["caster"])
    async with http_agent(live, caster.token) as agent:
        version = refusal(
            await agent.call_tool("spells_detail", {"spell_id": "acme/writer", "version": "9.9.9"})
        )
        spell = refusal(await agent.call_tool("spells_detail", {"spell_id": "acme/nothing"}))
        with pytest.raises(MCPError) as missing:
            await agent.read_resource("spell://acme/writer@9.9.9")
    assert version["code"] == "VERSION_NOT_FOUND"
    assert spell["code"] == "SPELL_NOT_FOUND"
    assert missing.value.data["code"] == "VERSION_NOT_FOUND"


async def test_an_expired_or_missing_artifact_is_a_clear_resource_error(
    live: LiveServer, funded_caster: Caller
) -> None:
    caster = funded_caster
    async with http_agent(live, caster.token) as agent:
        cast = data(await agent.call_tool("spells_cast", {"spell_id": "acme/writer", "input": "w:old.txt"}))
        with pytest.raises(MCPError) as missing:
            await agent.read_resource(f"artifact://{cast['cast_id']}/other.txt")
        with live.platform.db.unit_of_work() as uow:
            uow.session.execute(update(Artifact).values(expires_at=utcnow()))
        with pytest.raises(MCPError) as expired:
            await agent.read_resource(cast["artifacts"][0]["uri"])
    assert missing.value.data["code"] == "ARTIFACT_NOT_FOUND"
    assert expired.value.data["code"] == "ARTIFACT_EXPIRED"
    assert "ARTIFACT_EXPIRED" in expired.value.message


async def test_another_tenants_cast_is_not_found(live: LiveServer, tmp_path: Path) -> None:
    publish_spells(live, tmp_path)
    owner = seed_user(live.platform, "owner@example.com", ["caster"])
    other = seed_user(live.platform, "other@example.com", ["caster"])
    async with http_agent(live, owner.token) as agent:
        cast = data(await agent.call_tool("spells_cast", {"spell_id": "acme/sleeper", "wait_seconds": 0}))
    async with http_agent(live, other.token) as agent:
        error = refusal(await agent.call_tool("casts_get", {"cast_id": cast["cast_id"]}))
        cancel = refusal(await agent.call_tool("casts_cancel", {"cast_id": cast["cast_id"]}))
        with pytest.raises(MCPError):
            await agent.read_resource(f"artifact://{cast['cast_id']}/x.txt")
    assert error["code"] == cancel["code"] == "CAST_NOT_FOUND"
    async with http_agent(live, owner.token) as agent:
        canceled = data(await agent.call_tool("casts_cancel", {"cast_id": cast["cast_id"]}))
    assert canceled["status"] == "canceled"


@pytest.mark.parametrize("authorization", [None, "Bearer sk_live_not_a_key", "Basic dXNlcjpwYXNz"])
async def test_a_request_without_a_usable_bearer_is_401(live: LiveServer, authorization: str | None) -> None:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if authorization:
        headers["Authorization"] = authorization
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{live.url}/mcp", json=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_a_foreign_origin_or_host_is_refused(live: LiveServer) -> None:
    caster = seed_user(live.platform, "agent@example.com", ["caster"])
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {
        "Authorization": f"Bearer {caster.token}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
    }
    async with httpx.AsyncClient() as http:
        origin = await http.post(
            f"{live.url}/mcp", json=body, headers={**headers, "Origin": "https://evil.example"}
        )
        host = await http.post(f"{live.url}/mcp", json=body, headers={**headers, "Host": "evil.example"})
    assert origin.status_code == 403
    assert host.status_code == 421


async def test_spells_list_pages_with_its_cursor(live: LiveServer, tmp_path: Path) -> None:
    publish_spells(live, tmp_path)
    caster = seed_user(live.platform, "agent@example.com", ["caster"])
    async with http_agent(live, caster.token) as agent:
        first = data(await agent.call_tool("spells_list", {"sort": "recent", "limit": 2}))
        following = {"sort": "recent", "limit": 2, "cursor": first["next_cursor"]}
        rest = data(await agent.call_tool("spells_list", following))
        found = data(await agent.call_tool("spells_list", {"search": "sleeper"}))
        bad = refusal(await agent.call_tool("spells_list", {"sort": "loudest"}))
    listed = sorted(s["id"] for s in first["items"] + rest["items"])
    assert listed == ["acme/sleeper", "acme/wipe", "acme/writer"]
    assert rest["next_cursor"] is None
    assert [s["id"] for s in found["items"]] == ["acme/sleeper"]
    assert bad["code"] == "VALIDATION_ERROR"


async def test_an_app_whose_lifespan_did_not_run_answers_503(
    platform: Platform, server_settings: ServerSettings
) -> None:
    caster = seed_user(platform, "agent@example.com", ["caster"])
    app = create_app(server_settings, platform=platform, manage=False)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {**caster.headers, "Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        response = await http.post("/mcp", json=body, headers=headers)
        unauthenticated = await http.post("/mcp", json=body)
    assert response.status_code == 503
    assert unauthenticated.status_code == 401
