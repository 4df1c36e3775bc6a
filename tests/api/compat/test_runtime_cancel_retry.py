"""Cancel and retry through the execution API: spell-runtime's statuses, codes and retry links."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import pytest

from spell.platform.server import Platform
from tests.api.compat.helpers import button_for_caster, sse_events
from tests.fixtures.bundles import SPIN_WAT
from tests.fixtures.server import Caller

pytestmark = pytest.mark.anyio


async def _until(platform: Platform, cast_id: str, check: Callable[[], bool]) -> None:
    with anyio.fail_after(10):
        while not check():
            await platform.casts.hub.wait(cast_id, 0.2)


async def _press(client: httpx.AsyncClient, caster: Caller, key: str) -> str:
    headers = {**caster.headers, "Idempotency-Key": key}
    created = await client.post("/api/spell-executions", headers=headers, json={"button_id": "greet"})
    assert created.status_code == 202, created.text
    return str(created.json()["execution_id"])


async def test_a_running_execution_is_canceled_then_retried_as_a_new_linked_execution(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    spin = {"publish_wat": SPIN_WAT, "publish_schema": {"type": "object"}, "publish_timeout_ms": 30_000}
    _, caster = await button_for_caster(client, platform, tmp_path, **spin)
    execution_id = await _press(client, caster, "spin")
    await _until(platform, execution_id, lambda: platform.casts.get_status(execution_id) == "running")

    canceled = await client.post(f"/api/spell-executions/{execution_id}/cancel", headers=caster.headers)
    assert canceled.status_code == 200, canceled.text
    assert canceled.json() == {
        "ok": True,
        "execution_id": execution_id,
        "tenant_id": caster.tenant_id,
        "status": "canceled",
    }
    stream = await client.get(f"/api/spell-executions/{execution_id}/events", headers=caster.headers)
    [(first, _), (last, data)] = sse_events(stream.text)
    assert (first, last) == ("snapshot", "terminal")
    assert data["execution"]["status"] == "canceled"
    assert data["execution"]["error_code"] == "EXECUTION_CANCELED"
    assert data["receipt"]["success"] is False

    retried = await client.post(f"/api/spell-executions/{execution_id}/retry", headers=caster.headers)
    assert retried.status_code == 202, retried.text
    again = retried.json()
    assert again["ok"] is True
    assert again["retry_of"] == execution_id
    assert again["execution_id"] != execution_id
    assert again["status"] in ("queued", "running")
    source = (await client.get(f"/api/spell-executions/{execution_id}", headers=caster.headers)).json()
    assert source["execution"]["retried_by"] == again["execution_id"]
    retry = (
        await client.get(f"/api/spell-executions/{again['execution_id']}", headers=caster.headers)
    ).json()
    assert retry["execution"]["retry_of"] == execution_id
    assert retry["execution"]["button_id"] == "greet"
    assert retry["receipt"] is None  # not ended yet

    stopped = await client.post(
        f"/api/spell-executions/{again['execution_id']}/cancel", headers=caster.headers
    )
    assert stopped.json()["status"] == "canceled"
    new_id = again["execution_id"]
    await _until(platform, new_id, lambda: not platform.casts.cancels.is_running(new_id))


async def test_a_timed_out_execution_reports_execution_timeout_and_is_retryable(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    spin = {"publish_wat": SPIN_WAT, "publish_schema": {"type": "object"}, "publish_timeout_ms": 100}
    _, caster = await button_for_caster(client, platform, tmp_path, **spin)
    execution_id = await _press(client, caster, "slow")
    stream = await client.get(f"/api/spell-executions/{execution_id}/events", headers=caster.headers)
    final = sse_events(stream.text)[-1][1]["execution"]
    assert final["status"] == "timeout"
    assert final["error_code"] == "EXECUTION_TIMEOUT"
    listed = await client.get("/api/spell-executions", headers=caster.headers, params={"status": "timeout"})
    assert [e["execution_id"] for e in listed.json()["executions"]] == [execution_id]
    retried = await client.post(f"/api/spell-executions/{execution_id}/retry", headers=caster.headers)
    assert retried.status_code == 202
    assert retried.json()["retry_of"] == execution_id
