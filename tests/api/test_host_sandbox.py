"""Host spells cast on a server run in the operator's sandbox: bubblewrap by default.

A caster's host step must not read the server's files (database, secret key, data dir), must not
run as root, must not reach the network, and nothing it starts may outlive the step, not even a
process that left the step's process group with ``setsid``.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from spell.config.server import ServerSettings
from spell.errors import InvalidInput, SandboxUnavailable
from spell.platform.server import Platform, default_runtimes, host_runtime
from spell.runtimes.base import Runtime
from spell.runtimes.host import HostRuntime
from spell.runtimes.host.sandbox import Unconfined, sandbox_named
from spell.runtimes.host.warm import WarmBwrapSandbox
from spell.runtimes.wasm import WasmRuntime
from spell.signing.signature import sign_bundle
from tests.fixtures.bundles import EMPTY_SBOM, Publisher, archive_of, write_sbom
from tests.fixtures.server import Caller, seed_maker

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["bwrap", "unsafe-none"])
def sandbox_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str, sandbox_name: str) -> ServerSettings:
    # No secret_key: the server keeps a generated one in data_dir/secret.key, the file to protect.
    return ServerSettings.for_home(
        tmp_path / "home",
        database_url=database_url,
        workers=2,
        allow_host_runtime=True,
        host_sandbox=sandbox_name,
    )


@pytest.fixture
def runtimes(server_settings: ServerSettings, wasm_runtime: WasmRuntime) -> dict[str, Runtime]:
    return {"wasm": wasm_runtime, "host": default_runtimes(server_settings)["host"]}


def _host_bundle(dest: Path, spell_id: str, script: str, signer: Publisher, *, timeout_ms: int = 0) -> Path:
    dest.mkdir(parents=True)
    (dest / "schema.json").write_text('{"type": "object"}', encoding="utf-8")
    (dest / "steps").mkdir()
    step = dest / "steps" / "run.sh"
    step.write_text(script, encoding="utf-8")
    step.chmod(0o755)
    limit = f"    timeout_ms: {timeout_ms}\n" if timeout_ms else ""
    (dest / "spell.yaml").write_text(
        f"id: {spell_id}\nversion: 1.0.0\nname: host\ninputs_schema: ./schema.json\n"
        "runtime:\n  execution: host\n  platforms: [linux/amd64, linux/arm64]\n"
        f"steps:\n  - uses: shell\n    name: run\n    run: steps/run.sh\n{limit}",
        encoding="utf-8",
    )
    write_sbom(dest, EMPTY_SBOM)
    sign_bundle(dest, signer.private_key, key_id=signer.key_id)
    return dest


async def _publish(
    client: httpx.AsyncClient,
    platform: Platform,
    tmp_path: Path,
    name: str,
    script: str,
    *,
    timeout_ms: int = 0,
) -> Caller:
    maker = await seed_maker(client, platform)
    assert maker.publisher is not None
    bundle = _host_bundle(tmp_path / name, f"acme/{name}", script, maker.publisher, timeout_ms=timeout_ms)
    published = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert published.status_code == 201, published.text
    return maker


async def _cast(client: httpx.AsyncClient, caller: Caller, name: str, *, wait: bool) -> dict[str, Any]:
    headers = {**caller.headers, "Idempotency-Key": secrets.token_hex(8)} | (
        {"Prefer": "wait=30"} if wait else {}
    )
    response = await client.post(f"/v1/spells/acme/{name}/cast", json={"input": {}}, headers=headers)
    assert response.status_code in (200, 202), response.text
    return dict(response.json())


PROBE = """#!/bin/bash
probe() {{ if cat "$1" >/dev/null 2>&1; then echo readable; else echo unreadable; fi; }}
listed=hidden; ls "{data_dir}" >/dev/null 2>&1 && listed=listed
net=closed; (echo > /dev/tcp/127.0.0.1/{port}) 2>/dev/null && net=open
printf '{{"uid": %s, "key": "%s", "db": "%s", "data_dir": "%s", "net": "%s"}}\\n' \\
  "$(id -u)" "$(probe "{key}")" "$(probe "{db}")" "$listed" "$net"
"""


async def test_a_host_step_on_the_server_cannot_read_the_database_or_the_secret_key(
    client: httpx.AsyncClient,
    platform: Platform,
    server_settings: ServerSettings,
    tmp_path: Path,
    sandbox_name: str,
) -> None:
    key = server_settings.data_dir / "secret.key"
    db = Path(server_settings.database_url.removeprefix("sqlite:///")) if server_settings.is_sqlite else key
    assert key.is_file()
    # The database of either backend: the SQLite file, or the PostgreSQL port on loopback.
    script = PROBE.format(data_dir=server_settings.data_dir, key=key, db=db, port=5432)
    maker = await _publish(client, platform, tmp_path, "probe", script)

    done = await _cast(client, maker, "probe", wait=True)

    assert done["status"] == "succeeded", done
    seen = done["output"]["step.run.json"]
    if sandbox_name == "bwrap":
        assert seen == {
            "uid": 65534,
            "key": "unreadable",
            "db": "unreadable",
            "data_dir": "hidden",
            "net": "closed",
        }
    else:  # what the unsafe choice leaves in reach: the reason it is not the default
        assert seen["uid"] == os.geteuid()
        assert (seen["key"], seen["db"], seen["data_dir"]) == ("readable", "readable", "listed")


async def test_a_host_step_handed_to_a_sandbox_started_ahead_is_as_confined_over_http(
    client: httpx.AsyncClient,
    platform: Platform,
    server_settings: ServerSettings,
    runtimes: dict[str, Runtime],
    tmp_path: Path,
    sandbox_name: str,
) -> None:
    if sandbox_name != "bwrap":
        pytest.skip("only bubblewrap sandboxes are started ahead")
    host = runtimes["host"]
    assert isinstance(host, HostRuntime)
    sandbox = host.sandbox
    assert isinstance(sandbox, WarmBwrapSandbox)
    key = server_settings.data_dir / "secret.key"
    db = Path(server_settings.database_url.removeprefix("sqlite:///")) if server_settings.is_sqlite else key
    script = PROBE.format(data_dir=server_settings.data_dir, key=key, db=db, port=5432)
    maker = await _publish(client, platform, tmp_path, "probe", script)
    first = await _cast(client, maker, "probe", wait=True)  # the first cast starts the pool
    for _ in range(3000):
        if sandbox.waiting:
            break
        await anyio.sleep(0.01)

    done = await _cast(client, maker, "probe", wait=True)

    assert sandbox.handed >= 1
    assert first["status"] == done["status"] == "succeeded", done
    expected = {"uid": 65534, "key": "unreadable", "db": "unreadable", "data_dir": "hidden", "net": "closed"}
    assert first["output"]["step.run.json"] == done["output"]["step.run.json"] == expected


ESCAPER = """#!/bin/sh
setsid sh -c 'echo $$ > "$HOME/child.pid"; exec sleep {marker}' </dev/null >/dev/null 2>&1 &
while ! grep -qs "{marker}" "/proc/$(cat "$HOME/child.pid" 2>/dev/null)/cmdline"; do :; done
echo "child $(cat "$HOME/child.pid")"
{then}
"""


def _processes_sleeping(marker: str) -> list[int]:
    """Host pids of the processes running ``sleep <marker>``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # ended while we looked
        if argv[:2] == [b"sleep", marker.encode()]:
            found.append(int(entry.name))
    return found


def _namespace_pid(host_pid: int) -> int:
    """The pid the process has in its own (innermost) PID namespace."""
    status = Path(f"/proc/{host_pid}/status").read_text(encoding="utf-8")
    match = re.search(r"^NSpid:\s+(.*)$", status, re.MULTILINE)
    assert match is not None
    return int(match.group(1).split()[-1])


async def _child_reported(platform: Platform, cast_id: str) -> int:
    """The pid the step's setsid descendant wrote to its pid file, once the step has logged it."""
    with anyio.fail_after(20):
        while True:
            with platform.db.unit_of_work(write=False) as uow:
                for event in platform.casts.repo.events_after(uow, cast_id, 0):
                    found = (
                        re.search(r"child (\d+)", str(event.data.get("text", "")))
                        if event.type == "log"
                        else None
                    )
                    if found:
                        return int(found.group(1))
            await platform.casts.hub.wait(cast_id, 0.2)


@pytest.mark.parametrize("ending", ["cancel", "timeout", "exit"])
async def test_the_end_of_a_host_step_kills_a_descendant_that_called_setsid(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, sandbox_name: str, ending: str
) -> None:
    marker = f"{secrets.randbelow(10**6) + 10**6}.{secrets.randbelow(10**6)}"
    then = "exit 0" if ending == "exit" else "exec sleep 300"
    maker = await _publish(
        client,
        platform,
        tmp_path,
        "escaper",
        ESCAPER.format(marker=marker, then=then),
        timeout_ms=3000 if ending == "timeout" else 0,
    )
    try:
        cast = await _cast(client, maker, "escaper", wait=False)
        child = await _child_reported(platform, cast["id"])
        if ending == "cancel":
            alive = _processes_sleeping(marker)
            assert [_namespace_pid(pid) for pid in alive] == [child]  # the pid file names this process
            canceled = await client.post(f"/v1/casts/{cast['id']}/cancel", headers=maker.headers)
            assert canceled.json()["status"] == "canceled"
        with anyio.fail_after(20):
            while platform.casts.cancels.is_running(cast["id"]):
                await platform.casts.hub.wait(cast["id"], 0.2)
        expected = {"cancel": "canceled", "timeout": "timeout", "exit": "succeeded"}[ending]
        assert platform.casts.get_status(cast["id"]) == expected

        survivors = _processes_sleeping(marker)

        if sandbox_name == "bwrap":
            assert survivors == []
        else:  # a process group kill does not reach a process in a session of its own
            assert len(survivors) == 1
    finally:
        for pid in _processes_sleeping(marker):
            os.kill(pid, 9)


def test_a_missing_bubblewrap_stops_the_server_from_starting_with_a_clear_error(tmp_path: Path) -> None:
    settings = ServerSettings.for_home(
        tmp_path, secret_key="s", allow_host_runtime=True, host_sandbox_bwrap=str(tmp_path / "no-such-bwrap")
    )

    with pytest.raises(SandboxUnavailable) as raised:
        Platform.build(settings)

    assert raised.value.code == "SANDBOX_UNAVAILABLE"
    assert raised.value.details["binary"] == str(tmp_path / "no-such-bwrap")


def test_a_sandbox_that_fails_to_start_a_step_is_unavailable(tmp_path: Path) -> None:
    settings = ServerSettings.for_home(
        tmp_path, secret_key="s", allow_host_runtime=True, host_sandbox_bwrap="/bin/false"
    )

    with pytest.raises(SandboxUnavailable) as raised:
        host_runtime(settings)

    assert raised.value.details["exit_code"] == 1


def test_the_unsafe_choice_is_taken_only_when_named(tmp_path: Path) -> None:
    chosen = host_runtime(
        ServerSettings.for_home(tmp_path, allow_host_runtime=True, host_sandbox="unsafe-none")
    )

    assert isinstance(chosen.sandbox, Unconfined)
    assert ServerSettings.for_home(tmp_path).host_sandbox == "bwrap"
    with pytest.raises(InvalidInput):
        sandbox_named("none")
