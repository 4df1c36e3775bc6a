"""A host spell's step outputs read through spell-runtime's ``step.<name>.stdout|json[.path]``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.config.server import ServerSettings
from spell.platform.server import Platform, default_runtimes
from spell.runtimes.base import Runtime
from spell.runtimes.wasm import WasmRuntime
from tests.api.compat.helpers import sse_events
from tests.fixtures.bundles import archive_of, host_bundle
from tests.fixtures.server import seed_maker

pytestmark = pytest.mark.anyio

SCRIPT = '#!/bin/sh\necho \'{"deploy": {"url": "https://example.test/1"}}\'\n'


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    return ServerSettings.for_home(
        tmp_path / "home", database_url=database_url, secret_key="s", workers=2, allow_host_runtime=True
    )


@pytest.fixture
def runtimes(wasm_runtime: WasmRuntime, server_settings: ServerSettings) -> dict[str, Runtime]:
    return {"wasm": wasm_runtime, "host": default_runtimes(server_settings)["host"]}


async def test_step_outputs_of_a_host_spell_resolve_as_in_spell_runtime(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    assert maker.publisher is not None
    bundle = host_bundle(tmp_path / "h", "acme/deploy", script=SCRIPT, signer=maker.publisher)
    assert (
        await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    ).status_code == 201
    button = {"id": "deploy", "spell_id": "acme/deploy", "version": "1.0.0"}
    assert (await client.post("/v1/buttons", headers=maker.headers, json=button)).status_code == 201
    created = await client.post(
        "/api/spell-executions",
        headers={**maker.headers, "Idempotency-Key": "d1"},
        json={"button_id": "deploy"},
    )
    assert created.status_code == 202, created.text
    execution_id = created.json()["execution_id"]
    stream = await client.get(f"/api/spell-executions/{execution_id}/events", headers=maker.headers)
    assert sse_events(stream.text)[-1][1]["execution"]["status"] == "succeeded"
    url = f"/api/spell-executions/{execution_id}/output"
    nested = await client.get(url, headers=maker.headers, params={"path": "step.run.json.deploy.url"})
    assert nested.json() == {
        "ok": True,
        "execution_id": execution_id,
        "path": "step.run.json.deploy.url",
        "value": "https://example.test/1",
    }
    stdout = await client.get(url, headers=maker.headers, params={"path": "step.run.stdout"})
    assert stdout.json()["value"].strip() == '{"deploy": {"url": "https://example.test/1"}}'
    nested_stdout = await client.get(url, headers=maker.headers, params={"path": "step.run.stdout.x"})
    assert (nested_stdout.status_code, nested_stdout.json()["error_code"]) == (400, "INVALID_OUTPUT_PATH")
