"""``spell serve --no-workers`` and ``spell worker`` as separate processes on PostgreSQL and NATS: queued
casts run on the workers, a killed worker's cast is ended within seconds and charged nothing, SIGTERM
lets a running cast finish, and a worker whose broker went away exits for its supervisor to restart it."""

from __future__ import annotations

import json
import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.models import Cast, CastEvent
from spell.platform.server import Platform
from spell.queue.nats import NatsQueue
from spell.signing.signature import sign_bundle
from spell.storage.migrate import upgrade
from tests.api.money_helpers import FLAT, credit, hold_and_balance, publish_priced
from tests.fixtures.bundles import SPIN_FUEL, SPIN_WAT, archive_of, new_publisher, wasm_bundle
from tests.fixtures.database import require_postgres
from tests.fixtures.nats import NATS_URL, delete_stream, nats_queue_or_skip
from tests.fixtures.server import Caller, seed_maker, seed_user
from tests.queue.private_broker import private_broker

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

SPELL = Path(sys.executable).parent / "spell"
START_S = 60.0  # a loaded machine takes its time importing and building a platform
TERMINAL = {"succeeded", "failed", "timeout", "canceled", "aborted"}


@pytest.fixture
def database_backend() -> str:
    """Workers share a PostgreSQL database."""
    require_postgres()
    return "postgresql"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A ``spell`` child whose stdout lines are read as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            [str(SPELL), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line)

    def ready(self) -> dict[str, Any]:
        """The worker's ``--json`` ready line."""
        try:
            line = self.lines.get(timeout=START_S)
        except queue.Empty:
            raise AssertionError(f"never ready: {self.stderr()}") from None
        facts: dict[str, Any] = json.loads(line)
        assert facts["ready"] is True
        return facts

    def stderr(self) -> str:
        if self.popen.poll() is None:
            return "(still running)"
        return self.popen.stderr.read() if self.popen.stderr is not None else ""

    def end(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(20)
        for stream in (self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()


class Cluster:
    """The processes a test starts (an API-only server, workers) and a platform here over the same
    database and queue."""

    def __init__(self, env: dict[str, str], platform: Platform) -> None:
        self.env, self.platform = env, platform
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: list[Process] = []

    def serve_api(self) -> Process:
        self.api = self.start("serve", "--no-workers", "--port", str(self.port))
        return self.api

    def start(self, *args: str) -> Process:
        process = Process(list(args), self.env)
        self.processes.append(process)
        return process

    def worker(self, *options: str) -> Process:
        return self.start("worker", "--json", "--workers", "1", *options)

    def api_ready(self) -> None:
        deadline = time.monotonic() + START_S
        while True:
            assert self.api.popen.poll() is None, self.api.stderr()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the API node never became ready"
            time.sleep(0.05)  # a child process's readiness, not test logic

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


@pytest.fixture
def cluster(empty_database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    nats_queue, probe_stream = nats_queue_or_skip("PROBE")  # skips (or fails) without a broker
    nats_queue.stop()
    delete_stream(probe_stream)
    upgrade(empty_database_url)
    name = f"w{secrets.token_hex(4)}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPELL_")}
    env.update(
        {
            "SPELL_HOME": str(tmp_path / "home"),
            "SPELL_DATABASE_URL": empty_database_url,
            "SPELL_QUEUE_URL": NATS_URL,
            "SPELL_SERVER_QUEUE_NAME": name,
            "SPELL_SERVER_QUEUE_ACK_WAIT_SECONDS": "1",
            "SPELL_SERVER_SECRET_KEY": "worker-test",
            "SPELL_SERVER_RATE_LIMIT_PER_MINUTE": "100000",
            "SPELL_SERVER_TENANT_RATE_LIMIT_PER_MINUTE": "100000",
        }
    )
    # This process seeds the database and, in the killing test, is the API node that queues casts.
    settings = ServerSettings.from_env(env)
    broker = NatsQueue.for_deployment(NATS_URL, name, ack_wait_s=settings.queue_ack_wait_seconds)
    platform = Platform.build(settings, runtimes={}, queue=broker)
    cluster = Cluster(env, platform)
    try:
        yield cluster
    finally:
        for process in cluster.processes:
            process.end()
        platform.stop()
        delete_stream(f"{name.upper()}_JOBS")


def _publish(
    cluster: Cluster, maker: Caller, tmp_path: Path, spell_id: str, pricing: str = "", **kw: Any
) -> None:
    assert maker.publisher is not None
    bundle = wasm_bundle(tmp_path / secrets.token_hex(4), spell_id, **kw)
    if pricing:
        with (bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
            manifest.write(pricing)
    sign_bundle(bundle, maker.publisher.private_key, key_id=maker.publisher.key_id)
    with cluster.http() as http:
        published = http.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert published.status_code == 201, published.text


def _maker(cluster: Cluster) -> Caller:
    maker = seed_user(cluster.platform, "maker@example.com", ["maker"])
    maker.publisher = new_publisher("acme")
    with cluster.http() as http:
        added = http.post(
            "/v1/publishers/acme/keys",
            headers=maker.headers,
            json={"key_id": maker.publisher.key_id, "public_key": maker.publisher.public_key},
        )
    assert added.status_code == 201, added.text
    return maker


def _cast(cluster: Cluster, caller: Caller, spell_id: str, key: str, body: Any, *, wait: bool = False) -> Any:
    headers = {**caller.headers, "Idempotency-Key": key, **({"Prefer": "wait=20"} if wait else {})}
    with cluster.http() as http:
        response = http.post(f"/v1/spells/{spell_id}/cast", headers=headers, json={"input": body})
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


def _until(cluster: Cluster, caller: Caller, cast_id: str, statuses: set[str], within_s: float) -> Any:
    deadline = time.monotonic() + within_s
    with cluster.http() as http:
        while True:
            cast = http.get(f"/v1/casts/{cast_id}", headers=caller.headers).json()
            if cast["status"] in statuses:
                return cast
            assert time.monotonic() < deadline, cast
            time.sleep(0.05)  # another process's progress: polled over HTTP


def _until_used(cluster: Cluster, caller: Caller, cast_id: str, within_s: float) -> None:
    """Until the runner recorded what the cast used: its sandbox stopped."""
    deadline = time.monotonic() + within_s
    with cluster.http() as http:
        while http.get(f"/v1/casts/{cast_id}", headers=caller.headers).json()["usage"] is None:
            assert time.monotonic() < deadline, "the sandbox kept running after the cancel"
            time.sleep(0.05)  # another process's progress: polled over HTTP


def _event_types(cluster: Cluster, cast_id: str) -> list[str]:
    with cluster.platform.db.unit_of_work(write=False) as uow:
        events = uow.session.query(CastEvent).filter_by(cast_id=cast_id).order_by(CastEvent.seq)
        return [event.type for event in events]


def test_an_api_only_node_queues_casts_that_a_worker_runs_cancels_and_lets_finish_on_sigterm(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.serve_api()
    worker = cluster.worker()
    cluster.api_ready()
    maker = _maker(cluster)
    _publish(cluster, maker, tmp_path, "acme/hello")
    _publish(cluster, maker, tmp_path, "acme/spin", wat=SPIN_WAT, fuel=SPIN_FUEL, timeout_ms=1500, schema={})
    _publish(
        cluster, maker, tmp_path, "acme/spin-long", wat=SPIN_WAT, fuel=SPIN_FUEL, timeout_ms=30_000, schema={}
    )
    assert worker.ready()["database"] == "postgresql"

    inline = _cast(cluster, maker, "acme/hello", "inline", {"name": "api"}, wait=True)
    assert inline["status"] == "succeeded"  # the request runs it: API nodes keep inline casts
    queued = _cast(cluster, maker, "acme/hello", "queued", {"name": "worker"})
    assert queued["status"] == "queued"
    assert _until(cluster, maker, queued["id"], TERMINAL, 20)["status"] == "succeeded"

    # a cancel sent to the API node stops the sandbox on the worker (same data dir: relayed at once)
    long = _cast(cluster, maker, "acme/spin-long", "long", {})
    _until(cluster, maker, long["id"], {"running"}, 20)
    with cluster.http() as http:
        canceled = http.post(f"/v1/casts/{long['id']}/cancel", headers=maker.headers)
    assert canceled.json()["status"] == "canceled", canceled.text
    _until_used(cluster, maker, long["id"], within_s=10)  # not at its 30 s limit

    spin = _cast(cluster, maker, "acme/spin", "spin", {})
    _until(cluster, maker, spin["id"], {"running"}, 20)
    worker.popen.send_signal(signal.SIGTERM)
    assert worker.popen.wait(20) == 0
    assert "handed back" not in worker.stderr()
    # it ran to its own end on the stopping worker (its time limit), rather than being handed back
    assert _until(cluster, maker, spin["id"], TERMINAL, 5)["status"] == "timeout"
    assert _event_types(cluster, spin["id"]).count("running") == 1


def _cpu_ticks(process: Process) -> int:
    """User and system time the process used so far, in clock ticks."""
    fields = Path(f"/proc/{process.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _spinning(workers: list[Process]) -> Process:
    """The worker running the spinning cast: the only one using a CPU while idle ones wait on sockets
    (measured until it stands out, however loaded the machine)."""
    before = [_cpu_ticks(worker) for worker in workers]
    deadline = time.monotonic() + 15
    while True:
        time.sleep(0.2)  # a measuring interval, not a wait for something to happen
        used = [_cpu_ticks(worker) - ticks for worker, ticks in zip(workers, before, strict=True)]
        busiest = max(range(len(workers)), key=used.__getitem__)
        others = [ticks for index, ticks in enumerate(used) if index != busiest]
        if used[busiest] >= 20 and all(used[busiest] > 5 * ticks for ticks in others):
            return workers[busiest]
        assert time.monotonic() < deadline, used


async def test_a_killed_workers_cast_is_ended_by_another_worker_within_seconds_and_charged_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    workers = [cluster.worker("--grace", "0.5"), cluster.worker("--grace", "0.5")]
    app = create_app(cluster.platform.settings, platform=cluster.platform, manage=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        maker = await seed_maker(client, cluster.platform)
        await publish_priced(
            client, maker, tmp_path, FLAT, "acme/spin", SPIN_WAT, fuel=SPIN_FUEL, timeout_ms=30_000, schema={}
        )
        caster = seed_user(cluster.platform, "caster@example.com", ["caster"])
        credit(cluster.platform, caster.user_id, 1_000_000)
        for worker in workers:
            worker.ready()
        headers = {**caster.headers, "Idempotency-Key": "doomed"}
        queued = await client.post("/v1/spells/acme/spin/cast", headers=headers, json={"input": {}})
    assert queued.status_code == 202, queued.text
    cast_id = queued.json()["id"]
    _until_status(cluster.platform, cast_id, {"running"}, 20)
    doomed = _spinning(workers)
    (survivor,) = [worker for worker in workers if worker is not doomed]

    doomed.popen.kill()
    killed_at = time.monotonic()
    ended = _until_status(cluster.platform, cast_id, TERMINAL, 20)
    assert time.monotonic() - killed_at < 8  # the ack wait (1 s) and a little, not the cast's 30 s
    assert (ended.status, ended.error_code) == ("aborted", "INTERNAL")
    assert _event_types(cluster, cast_id) == ["queued", "running", "aborted"]
    assert hold_and_balance(cluster.platform, cast_id, caster.user_id) == ("released", 1_000_000)

    # SIGTERM past the grace: the running cast's job goes back to the broker, the worker exits
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        headers = {**caster.headers, "Idempotency-Key": "left"}
        left = await client.post("/v1/spells/acme/spin/cast", headers=headers, json={"input": {}})
    _until_status(cluster.platform, left.json()["id"], {"running"}, 20)
    survivor.popen.send_signal(signal.SIGTERM)
    assert survivor.popen.wait(10) == 0  # the grace (0.5 s), not the cast's 30 s
    assert "1 running cast(s) handed back" in survivor.stderr()


def _until_status(platform: Platform, cast_id: str, statuses: set[str], within_s: float) -> Cast:
    deadline = time.monotonic() + within_s
    while True:
        with platform.db.unit_of_work(write=False) as uow:
            cast = uow.session.get(Cast, cast_id)
            assert cast is not None
            uow.session.expunge(cast)
        if cast.status in statuses:
            return cast
        assert time.monotonic() < deadline, cast.status
        time.sleep(0.05)  # another process's progress, read from the database


def test_a_worker_whose_broker_went_away_exits_overloaded(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPELL_")}
    with private_broker(tmp_path) as broker:
        env.update({"SPELL_HOME": str(tmp_path / "home"), "SPELL_QUEUE_URL": broker.url})
        worker = Process(["worker", "--json"], env)
        try:
            assert worker.ready()["database"] == "sqlite"
            broker.process.kill()
            assert worker.popen.wait(20) == 1
            last = worker.stderr().strip().splitlines()[-1]
            assert json.loads(last)["error"]["code"] == "OVERLOADED"
        finally:
            worker.end()
