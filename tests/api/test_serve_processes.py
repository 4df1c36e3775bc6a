"""``spell serve --processes 2``: two processes behind one port, one SQLite database, casts that any
process can cancel, and cache changes that every process sees at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from spell.config.server import ServerSettings
from spell.platform.auth.schemas import Principal
from spell.platform.server import Platform
from spell.storage import changes
from spell.storage.migrate import upgrade
from tests.fixtures.bundles import SPIN_WAT, archive_of, new_publisher, wasm_bundle
from tests.fixtures.server import Caller, seed_user

SPELL = Path(sys.executable).parent / "spell"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


class Served:
    def __init__(
        self, url: str, process: subprocess.Popen[bytes], platform: Platform, env: dict[str, str]
    ) -> None:
        self.url, self.process, self.platform, self.env = url, process, platform, env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPELL_")}
    # Keys stay cached for ten minutes: a change seen at once is seen through the shared generations.
    env.update(
        {
            "SPELL_HOME": str(tmp_path / "home"),
            "SPELL_SERVER_SECRET_KEY": "processes-test",
            "SPELL_SERVER_CACHE_MS": "600000",
        }
    )
    settings = ServerSettings.from_env(env)
    upgrade(settings.database_url)
    port = _free_port()
    process = subprocess.Popen(
        [str(SPELL), "serve", "--port", str(port), "--processes", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    previous = changes._SHARED
    # this test process is a sibling too: it seeds the database and sends cancels like a third server
    platform = Platform.build(settings, runtimes={})
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                if (
                    httpx.get(f"{url}/readyz", timeout=1).status_code == 200
                    and len(_children(process.pid)) >= 2
                ):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server never became ready"
            time.sleep(0.1)
        yield Served(url, process, platform, env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        finally:
            process.kill()
            if process.stderr is not None:
                process.stderr.close()
            platform.stop()
            changes._SHARED = previous


def _publish_spin(served: Served, tmp_path: Path) -> Caller:
    maker = seed_user(served.platform, "maker@example.com", ["maker"])
    maker.publisher = new_publisher("acme")
    with httpx.Client(base_url=served.url, timeout=30) as http:
        added = http.post(
            "/v1/publishers/acme/keys",
            headers=maker.headers,
            json={"key_id": maker.publisher.key_id, "public_key": maker.publisher.public_key},
        )
        assert added.status_code == 201, added.text
        bundle = wasm_bundle(
            tmp_path / "spin", "acme/spin", wat=SPIN_WAT, schema={"type": "object"}, signer=maker.publisher
        )
        published = http.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
        assert published.status_code == 201, published.text
    return seed_user(served.platform, "caster@example.com", ["caster"])


def _start_spin(served: Served, caster: Caller, key: str) -> str:
    with httpx.Client(base_url=served.url, timeout=30) as http:  # a new connection: either process
        response = http.post(
            "/v1/spells/acme/spin/cast",
            headers={**caster.headers, "Idempotency-Key": key},
            json={"input": {}},
        )
        assert response.status_code == 202, response.text
        cast_id: str = response.json()["id"]
        deadline = time.monotonic() + 20
        while http.get(f"/v1/casts/{cast_id}", headers=caster.headers).json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    return cast_id


def _sandbox_stopped(served: Served, caster: Caller, cast_id: str) -> dict[str, object]:
    """The cast once the process that ran it recorded what it used (its sandbox has stopped)."""
    deadline = time.monotonic() + 10
    with httpx.Client(base_url=served.url, timeout=30) as http:
        while True:
            body: dict[str, object] = http.get(f"/v1/casts/{cast_id}", headers=caster.headers).json()
            if body["usage"] is not None:
                return body
            assert time.monotonic() < deadline, "the sandbox kept running after the cancel"
            time.sleep(0.05)


def test_a_cancel_from_another_process_stops_the_sandbox_at_once(served: Served, tmp_path: Path) -> None:
    caster = _publish_spin(served, tmp_path)
    cast_id = _start_spin(served, caster, "spin-1")
    with served.platform.db.unit_of_work(write=False) as uow:
        principal: Principal = served.platform.auth.authenticate_key(uow, caster.token)
    served.platform.share_with_siblings(relay_cancels=True)
    canceled = served.platform.casts.cancel(principal, cast_id)  # runs in neither server process
    assert canceled.status == "canceled"
    body = _sandbox_stopped(served, caster, cast_id)
    assert body["status"] == "canceled"
    usage = body["usage"]
    assert isinstance(usage, dict)
    assert usage["wall_ms"] < 8_000  # the spell's limit is 10 s: the cancel stopped it


def test_a_cancel_over_http_stops_the_cast_whichever_process_takes_it(served: Served, tmp_path: Path) -> None:
    caster = _publish_spin(served, tmp_path)
    for attempt in range(3):  # fresh connections land on either process
        cast_id = _start_spin(served, caster, f"spin-http-{attempt}")
        with httpx.Client(base_url=served.url, timeout=30) as http:
            response = http.post(f"/v1/casts/{cast_id}/cancel", headers=caster.headers)
        assert response.status_code == 200, response.text
        body = _sandbox_stopped(served, caster, cast_id)
        assert body["status"] == "canceled"


def test_a_key_revoked_outside_the_server_is_refused_by_every_process_at_once(
    served: Served, tmp_path: Path
) -> None:
    caster = seed_user(served.platform, "caster@example.com", ["caster"])
    with httpx.Client(base_url=served.url, timeout=30) as http:
        for _ in range(6):  # fill both processes' key caches
            with httpx.Client(base_url=served.url, timeout=30) as fresh:
                assert fresh.get("/v1/me", headers=caster.headers).status_code == 200
        served.platform.share_with_siblings(relay_cancels=False)
        with served.platform.db.unit_of_work() as uow:
            principal = served.platform.auth.authenticate_key(uow, caster.token)
            (key,) = served.platform.auth.list_keys(uow, principal)
            served.platform.auth.revoke_key(uow, principal, key.id)
        for _ in range(6):
            with httpx.Client(base_url=served.url, timeout=30) as fresh:
                refused = fresh.get("/v1/me", headers=caster.headers)
                assert refused.status_code == 401, refused.text
        assert http.get("/readyz").status_code == 200


def test_a_ban_by_the_cli_beside_the_server_is_refused_by_every_process_at_once(served: Served) -> None:
    caster = seed_user(served.platform, "banned@example.com", ["caster"])
    for _ in range(6):  # fill both processes' key caches
        with httpx.Client(base_url=served.url, timeout=30) as fresh:
            assert fresh.get("/v1/me", headers=caster.headers).status_code == 200
    banned = subprocess.run(
        [str(SPELL), "admin", "ban", "banned@example.com", "--reason", "abuse"],
        env=served.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert banned.returncode == 0, banned.stderr
    for _ in range(6):
        with httpx.Client(base_url=served.url, timeout=30) as fresh:
            refused = fresh.get("/v1/me", headers=caster.headers)
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["code"] == "USER_BANNED"
