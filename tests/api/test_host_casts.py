"""Host spells on a server whose operator enabled them: cast, and cancel that kills the process group."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from spell.config.server import ServerSettings
from spell.platform.server import CancelAsKeyword, Platform
from spell.runtimes.base import Runtime
from spell.runtimes.host import HostRuntime
from spell.runtimes.wasm import WasmRuntime
from tests.server_factories import archive_of, host_bundle
from tests.server_fixtures import seed_maker

pytestmark = pytest.mark.anyio


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    return ServerSettings.for_home(
        tmp_path / "home", database_url=database_url, secret_key="s", workers=2, allow_host_runtime=True
    )


@pytest.fixture
def runtimes(wasm_runtime: WasmRuntime) -> dict[str, Runtime]:
    return {"wasm": wasm_runtime, "host": CancelAsKeyword(HostRuntime())}


async def test_canceling_a_running_host_cast_kills_it_and_frees_the_worker(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    assert maker.publisher is not None
    bundle = host_bundle(
        tmp_path / "h", "acme/sleepy", script="#!/bin/sh\nsleep 30\n", signer=maker.publisher
    )
    assert (
        await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    ).status_code == 201
    cast = (
        await client.post(
            "/v1/spells/acme/sleepy/cast",
            json={"input": {}},
            headers={**maker.headers, "Idempotency-Key": "h"},
        )
    ).json()
    with anyio.fail_after(10):
        while platform.casts.get_status(cast["id"]) != "running":
            await platform.casts.hub.wait(cast["id"], 0.2)
    started = anyio.current_time()
    canceled = await client.post(f"/v1/casts/{cast['id']}/cancel", headers=maker.headers)
    assert canceled.json()["status"] == "canceled"
    with anyio.fail_after(10):
        while platform.casts.cancels.is_running(cast["id"]):
            await platform.casts.hub.wait(cast["id"], 0.2)
    assert anyio.current_time() - started < 10


async def test_a_host_spell_runs_when_enabled(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    assert maker.publisher is not None
    bundle = host_bundle(tmp_path / "h", "acme/echo", script="#!/bin/sh\necho hi\n", signer=maker.publisher)
    assert (
        await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    ).status_code == 201
    done = await client.post(
        "/v1/spells/acme/echo/cast",
        json={"input": {}},
        headers={**maker.headers, "Idempotency-Key": "e", "Prefer": "wait=20"},
    )
    assert done.json()["status"] == "succeeded", done.text
