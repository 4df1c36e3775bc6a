"""Host spells on a server whose operator enabled them: cast, and cancel that kills the process group."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy.exc import OperationalError

from spell.config.server import ServerSettings
from spell.platform.server import Platform, default_runtimes
from spell.runtimes.base import Runtime
from spell.runtimes.wasm import WasmRuntime
from tests.fixtures.bundles import archive_of, host_bundle
from tests.fixtures.server import Caller, seed_maker

pytestmark = pytest.mark.anyio


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    return ServerSettings.for_home(
        tmp_path / "home", database_url=database_url, secret_key="s", workers=2, allow_host_runtime=True
    )


@pytest.fixture
def runtimes(wasm_runtime: WasmRuntime, server_settings: ServerSettings) -> dict[str, Runtime]:
    # The host runtime as the server builds it: steps in the default (bubblewrap) sandbox.
    return {"wasm": wasm_runtime, "host": default_runtimes(server_settings)["host"]}


ECHO = "#!/bin/sh\necho hi\n"
SLEEPY = "#!/bin/sh\nsleep 30\n"


async def _published(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, name: str, script: str
) -> Caller:
    """A maker who published the host spell ``acme/<name>`` running ``script``."""
    maker = await seed_maker(client, platform)
    assert maker.publisher is not None
    bundle = host_bundle(tmp_path / "h", f"acme/{name}", script=script, signer=maker.publisher)
    published = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert published.status_code == 201, published.text
    return maker


async def _cast(
    client: httpx.AsyncClient, caller: Caller, name: str, key: str, *, wait: bool = True
) -> dict[str, Any]:
    headers = {**caller.headers, "Idempotency-Key": key} | ({"Prefer": "wait=20"} if wait else {})
    response = await client.post(f"/v1/spells/acme/{name}/cast", json={"input": {}}, headers=headers)
    return dict(response.json())


async def _until_freed(platform: Platform, cast_id: str) -> None:
    with anyio.fail_after(10):
        while platform.casts.cancels.is_running(cast_id):
            await platform.casts.hub.wait(cast_id, 0.2)


def _events(stream: str) -> list[tuple[str, dict[str, object]]]:
    """(type, data) of each event of an SSE body."""
    found = []
    for block in stream.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if "event" in fields:
            found.append((fields["event"], json.loads(fields["data"])))
    return found


async def _event_types(client: httpx.AsyncClient, caller: Caller, cast_id: str) -> list[str]:
    stream = await client.get(f"/v1/casts/{cast_id}/events", headers=caller.headers)
    return [kind for kind, _ in _events(stream.text)]


def _stored_event_types(platform: Platform, cast_id: str) -> list[str]:
    with platform.db.unit_of_work(write=False) as uow:
        return [event.type for event in platform.casts.repo.events_after(uow, cast_id, 0)]


async def test_canceling_a_running_host_cast_kills_it_and_frees_the_worker(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await _published(client, platform, tmp_path, "sleepy", SLEEPY)
    cast = await _cast(client, maker, "sleepy", "h", wait=False)
    with anyio.fail_after(10):
        while platform.casts.get_status(cast["id"]) != "running":
            await platform.casts.hub.wait(cast["id"], 0.2)
    started = anyio.current_time()
    canceled = await client.post(f"/v1/casts/{cast['id']}/cancel", headers=maker.headers)
    assert canceled.json()["status"] == "canceled"
    await _until_freed(platform, cast["id"])
    assert anyio.current_time() - started < 10


async def test_a_host_spell_runs_when_enabled(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await _published(client, platform, tmp_path, "echo", ECHO)
    done = await _cast(client, maker, "echo", "e")
    assert done["status"] == "succeeded", done


async def test_a_host_casts_steps_stream_as_progress_and_log_events(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await _published(client, platform, tmp_path, "echo", ECHO)
    done = await _cast(client, maker, "echo", "p")
    assert done["status"] == "succeeded", done

    stream = await client.get(f"/v1/casts/{done['id']}/events", headers=maker.headers)

    events = _events(stream.text)
    assert [kind for kind, _ in events] == ["queued", "running", "progress", "log", "progress", "succeeded"]
    started, output, ended = events[2][1], events[3][1], events[4][1]
    assert (output["step"], output["stream"], output["text"]) == ("run", "stdout", "hi\n")
    assert (started["event"], started["step"], started["detail"]) == ("started", "run", "attempt 1/1")
    assert (ended["event"], ended["step"]) == ("succeeded", "run")
    assert "at" in started


async def test_progress_after_the_end_of_a_cast_is_not_recorded(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await _published(client, platform, tmp_path, "echo", ECHO)
    cast_id = (await _cast(client, maker, "echo", "late"))["id"]

    late = {"event": "started", "step": "run", "detail": "late"}
    assert platform.casts.add_running_event(cast_id, "progress", late) is False
    assert platform.casts.add_running_event("cast_nope", "progress", late) is False

    stream = await client.get(f"/v1/casts/{cast_id}/events", headers=maker.headers)
    assert [kind for kind, _ in _events(stream.text)][-1] == "succeeded"
    assert "late" not in stream.text


async def test_a_progress_event_that_cannot_be_written_does_not_fail_the_cast(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    maker = await _published(client, platform, tmp_path, "echo", ECHO)

    def broken(*_args: object) -> bool:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(platform.casts, "add_running_event", broken)
    done = await _cast(client, maker, "echo", "broken")

    assert done["status"] == "succeeded", done
    assert await _event_types(client, maker, done["id"]) == ["queued", "running", "succeeded"]


async def test_a_canceled_host_cast_ends_its_events_with_canceled(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await _published(client, platform, tmp_path, "sleepy", SLEEPY)
    cast_id = (await _cast(client, maker, "sleepy", "c", wait=False))["id"]
    with anyio.fail_after(10):  # the step has started: its progress event is stored
        while "progress" not in _stored_event_types(platform, cast_id):
            await platform.casts.hub.wait(cast_id, 0.2)
    assert (await client.post(f"/v1/casts/{cast_id}/cancel", headers=maker.headers)).status_code == 200
    await _until_freed(platform, cast_id)  # the killed step reports "failed" to a cast that already ended

    assert await _event_types(client, maker, cast_id) == ["queued", "running", "progress", "canceled"]


async def test_a_runtime_the_operator_turned_off_refuses_casts_of_spells_published_before(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    from dataclasses import replace

    from spell.platform.spell.service import runtime_allow_list

    maker = await _published(client, platform, tmp_path, "echo", ECHO)
    # The same allow-list publish checks, as a server restarted without host steps builds it.
    platform.casts.policy = replace(platform.casts.policy, runtimes=runtime_allow_list())
    response = await client.post(
        "/v1/spells/acme/echo/cast", json={"input": {}}, headers={**maker.headers, "Idempotency-Key": "off"}
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["details"]["rule"], error["details"]["allowed"]) == (
        "POLICY_DENIED",
        "server.runtimes",
        ["builtin", "wasm"],
    )
    assert "SPELL_SERVER_ALLOW_HOST_RUNTIME" in error["hint"]
