"""Two nodes with their own data dirs over one PostgreSQL database: node A is this test process, node B
a ``spell serve`` process. What A changes (keys, bans, suspended spells) and cancels reaches B on its
next request, though B keeps cached reads for a minute and shares no file with A."""

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
from spell.platform.privacy.schemas import PreferencesUpdate
from spell.platform.server import Platform
from spell.storage import changes
from spell.storage.migrate import upgrade
from tests.fixtures.bundles import SPIN_FUEL, SPIN_WAT, archive_of, new_publisher, wasm_bundle
from tests.fixtures.database import DatabaseTemplates, require_postgres
from tests.fixtures.server import Caller, seed_user

SPELL = Path(sys.executable).parent / "spell"
QUICK_WAT = '(module (memory (export "memory") 1) (func (export "_start")))'
SOON_S = 1.0  # "the next request": well under the cache time


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Nodes:
    def __init__(self, a: Platform, b_url: str) -> None:
        self.a, self.b_url = a, b_url

    def b(self) -> httpx.Client:
        return httpx.Client(base_url=self.b_url, timeout=30)


def _env(home: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPELL_")}
    env.update(
        {
            "SPELL_HOME": str(home),
            "SPELL_DATABASE_URL": url,
            "SPELL_SERVER_SECRET_KEY": "coherence-test",  # one key hash on both nodes
            "SPELL_SERVER_CACHE_MS": "60000",
        }
    )
    return env


@pytest.fixture
def nodes(tmp_path: Path, database_templates: DatabaseTemplates) -> Iterator[Nodes]:
    require_postgres()
    url = database_templates.empty("postgresql", tmp_path)
    upgrade(url)
    port = _free_port()
    process = subprocess.Popen(
        [str(SPELL), "serve", "--port", str(port)],
        env=_env(tmp_path / "b", url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    b_url = f"http://127.0.0.1:{port}"
    previous = changes._SHARED
    a = Platform.build(ServerSettings.from_env(_env(tmp_path / "a", url)), runtimes={})
    a.share_with_siblings(relay_cancels=False)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                if httpx.get(f"{b_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "node B never became ready"
            time.sleep(0.1)
        assert a.listener is not None
        assert a.listener.listening.wait(10)
        yield Nodes(a, b_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        finally:
            process.kill()
            if process.stderr is not None:
                process.stderr.close()
            a.stop()
            changes._SHARED = previous
            database_templates.drop(url)


def _until(check: object, what: str) -> float:
    """Seconds until ``check()`` is true, failing past ``SOON_S``."""
    assert callable(check)
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < SOON_S, f"node B still {what} after {SOON_S}s"
        time.sleep(0.02)
    return time.monotonic() - started


def _me(nodes: Nodes, caller: Caller) -> httpx.Response:
    with nodes.b() as http:
        return http.get("/v1/me", headers=caller.headers)


def test_a_key_revoked_on_one_node_is_refused_by_the_other_on_its_next_request(nodes: Nodes) -> None:
    caster = seed_user(nodes.a, "caster@example.com", ["caster"])
    assert _me(nodes, caster).status_code == 200  # cached on B for a minute
    with nodes.a.db.unit_of_work() as uow:
        principal = nodes.a.auth.authenticate_key(uow, caster.token)
        (key,) = nodes.a.auth.list_keys(uow, principal)
        nodes.a.auth.revoke_key(uow, principal, key.id)
    _until(lambda: _me(nodes, caster).status_code == 401, "accepts the revoked key")


def test_a_ban_on_one_node_is_refused_by_the_other_on_its_next_request(nodes: Nodes) -> None:
    caster = seed_user(nodes.a, "banned@example.com", ["caster"])
    assert _me(nodes, caster).status_code == 200
    with nodes.a.db.unit_of_work() as uow:
        nodes.a.auth.set_ban(uow, caster.user_id, banned=True, reason="abuse", actor_id=None)
    _until(lambda: _me(nodes, caster).status_code == 403, "accepts the banned user")
    refused = _me(nodes, caster)
    assert refused.json()["error"]["code"] == "USER_BANNED"


def _publish(nodes: Nodes, tmp_path: Path, name: str, wat: str, fuel: int | None = None) -> Caller:
    maker = seed_user(nodes.a, f"maker-{name}@example.com", ["maker"])
    maker.publisher = new_publisher("acme")
    with nodes.b() as http:
        added = http.post(
            "/v1/publishers/acme/keys",
            headers=maker.headers,
            json={"key_id": maker.publisher.key_id, "public_key": maker.publisher.public_key},
        )
        assert added.status_code in (201, 409), added.text
        bundle = wasm_bundle(
            tmp_path / name,
            f"acme/{name}",
            wat=wat,
            schema={"type": "object"},
            signer=maker.publisher,
            fuel=fuel,
        )
        published = http.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
        assert published.status_code == 201, published.text
    return seed_user(nodes.a, f"caster-{name}@example.com", ["caster"])


def _cast(nodes: Nodes, caster: Caller, spell: str, key: str, *, wait: bool) -> httpx.Response:
    headers = {**caster.headers, "Idempotency-Key": key}
    if wait:
        headers["Prefer"] = "wait=10"
    with nodes.b() as http:
        return http.post(f"/v1/spells/acme/{spell}/cast", headers=headers, json={"input": {}})


def test_a_spell_suspended_on_one_node_is_not_cast_on_the_other(nodes: Nodes, tmp_path: Path) -> None:
    caster = _publish(
        nodes, tmp_path, "hello", '(module (memory (export "memory") 1) (func (export "_start")))'
    )
    ran = _cast(nodes, caster, "hello", "first", wait=True)  # B caches the resolved spell
    assert ran.status_code in (200, 201, 202), ran.text
    with nodes.a.db.unit_of_work() as uow:
        nodes.a.spells.set_suspended(uow, "acme/hello", suspended=True, reason="malware", actor_id=None)
    attempts = iter(range(1000))
    _until(
        lambda: _cast(nodes, caster, "hello", f"again-{next(attempts)}", wait=True).status_code >= 400,
        "casts the suspended spell",
    )


def test_a_restriction_of_processing_set_on_one_node_is_refused_by_the_other_on_its_next_cast(
    nodes: Nodes, tmp_path: Path
) -> None:
    caster = _publish(nodes, tmp_path, "kept", QUICK_WAT)
    ran = _cast(nodes, caster, "kept", "first", wait=True)  # B caches the caster as unrestricted
    assert ran.status_code in (200, 201), ran.text

    def restrict(wanted: bool) -> None:
        with nodes.a.db.unit_of_work() as uow:
            update = PreferencesUpdate(restrict_processing=wanted)
            nodes.a.privacy.set_preferences(uow, caster.user_id, update, actor_id=caster.user_id)

    restrict(True)
    attempts = iter(range(1000))
    _until(
        lambda: _cast(nodes, caster, "kept", f"restricted-{next(attempts)}", wait=True).status_code == 403,
        "casts for the caster who restricted processing",
    )
    refused = _cast(nodes, caster, "kept", "refused", wait=True)
    assert refused.json()["error"]["code"] == "PROCESSING_RESTRICTED"
    restrict(False)
    _until(
        lambda: _cast(nodes, caster, "kept", f"lifted-{next(attempts)}", wait=True).status_code in (200, 201),
        "refuses the caster whose restriction was lifted",
    )


def test_a_cancel_sent_on_one_node_stops_the_cast_running_on_the_other(nodes: Nodes, tmp_path: Path) -> None:
    caster = _publish(nodes, tmp_path, "spin", SPIN_WAT, fuel=SPIN_FUEL)
    started = _cast(nodes, caster, "spin", "spin-1", wait=False)
    assert started.status_code == 202, started.text
    cast_id = started.json()["id"]
    with nodes.b() as http:
        deadline = time.monotonic() + 20
        while http.get(f"/v1/casts/{cast_id}", headers=caster.headers).json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    with nodes.a.db.unit_of_work(write=False) as uow:
        principal = nodes.a.auth.authenticate_key(uow, caster.token)
    canceled = nodes.a.casts.cancel(principal, cast_id)  # A runs nothing: only B can stop it
    assert canceled.status == "canceled"
    with nodes.b() as http:
        deadline = time.monotonic() + 10
        while (body := http.get(f"/v1/casts/{cast_id}", headers=caster.headers).json())["usage"] is None:
            assert time.monotonic() < deadline, "the sandbox on B kept running after the cancel"
            time.sleep(0.05)
    assert body["status"] == "canceled"
    assert body["usage"]["wall_ms"] < 8_000  # the spell's limit is 10 s: the cancel stopped it
