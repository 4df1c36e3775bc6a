"""The multi-node fault test: 2 API nodes and 2 workers (real processes, own data dirs) over one
PostgreSQL, NATS and Redis, casting while workers are SIGKILLed, NATS restarts and PostgreSQL drops
the nodes' connections. Afterwards every cast is terminal, ran at most once, was charged at most once.

``SPELL_FAULT_CASTS`` scales the run (default 500, the CI size) for local stress runs.
"""

from __future__ import annotations

import os
import random
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import Engine

from spell.config.server import ServerSettings
from spell.platform.server import Platform
from spell.signing.signature import sign_bundle
from tests.api.money_helpers import FLAT, credit
from tests.cluster.processes import Broker, Node, free_port, node_env
from tests.fixtures.bundles import archive_of, new_publisher, wasm_bundle
from tests.fixtures.database import PG_ADMIN_URL, DatabaseTemplates, require_postgres, service_unavailable
from tests.fixtures.server import Caller, seed_user

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

CASTS = int(os.environ.get("SPELL_FAULT_CASTS", "500"))
PRICE = 250_000
TERMINAL = ("succeeded", "failed", "timeout", "canceled", "aborted")
CLEAN_REFUSALS = {"OVERLOADED", "DATABASE_UNAVAILABLE"}
CLI = "from spell.cli.app import main; main()"
WORKER_ARGS = ["worker", "--workers", "2", "--grace", "0"]
REDIS_URL = os.environ.get("SPELL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class Cluster:
    """The running deployment and what the test needs to reach it."""

    api: list[Node]
    workers: list[Node]
    broker: Broker
    database_url: str
    app_name: str
    env: dict[str, str]
    caster: Caller
    engine: Engine


@dataclass
class Tally:
    """What the clients saw, shared by the casting threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[int] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    unclean: list[str] = field(default_factory=list)
    accepted: dict[str, str] = field(default_factory=dict)  # idempotency key -> cast id
    done_at: list[float] = field(default_factory=list)


def _redis_up() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_unavailable(f"Redis not reachable at {REDIS_URL}: {exc}")


@pytest.fixture
def cluster(tmp_path: Path, database_templates: DatabaseTemplates) -> Iterator[Cluster]:
    """PostgreSQL (a fresh schema), a NATS of the test's own, Redis, 2 API nodes, 2 workers."""
    require_postgres()
    _redis_up()
    app_name = "spellfault" + secrets.token_hex(4)
    database_url = database_templates.empty("postgresql", tmp_path) + f"&application_name={app_name}"
    upgraded = subprocess.run(
        [sys.executable, "-c", CLI, "db", "upgrade"],
        env={**os.environ, "SPELL_DATABASE_URL": database_url, "SPELL_HOME": str(tmp_path / "admin")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    broker = Broker(tmp_path / "nats")
    broker.start()
    logs = tmp_path / "logs"
    logs.mkdir()
    base = {
        "SPELL_DATABASE_URL": database_url,
        "SPELL_QUEUE_URL": broker.url,
        "SPELL_SERVER_QUEUE_NAME": "fault" + secrets.token_hex(4),
        "SPELL_RATE_LIMIT_URL": REDIS_URL,
        "SPELL_SERVER_RATE_LIMIT_PER_MINUTE": "1000000",
        "SPELL_SERVER_TENANT_RATE_LIMIT_PER_MINUTE": "1000000",
        "SPELL_SERVER_SECRET_KEY": "fault-" + secrets.token_hex(16),
        "SPELL_BLOB_URL": f"file://{tmp_path / 'blobs'}",
        "SPELL_SERVER_QUEUE_ACK_WAIT_SECONDS": "3",
        "SPELL_SERVER_SWEEP_SECONDS": "1",
        "SPELL_SERVER_LOG_LEVEL": "warning",
    }
    api = [
        Node(f"api{i}", [], node_env(base, tmp_path / f"api{i}"), logs, port=free_port()) for i in range(2)
    ]
    for node in api:
        node.args = ["serve", "--no-workers", "--port", str(node.port), "--workers", "2"]
    workers = [Node(f"worker{i}", WORKER_ARGS, node_env(base, tmp_path / f"w{i}"), logs) for i in range(2)]
    engine = create_engine(_psycopg(database_url))
    try:
        for node in api + workers:
            node.start(wait=False)
        _wait_healthy(api)
        caster = _seed(tmp_path, database_url, base, api[0])
        yield Cluster(api, workers, broker, database_url, app_name, base, caster, engine)
    finally:
        for node in api + workers:
            node.stop()
        broker.stop()
        engine.dispose()
        database_templates.drop(database_url.split("&application_name=")[0])


def _wait_healthy(api: list[Node]) -> None:
    deadline = time.monotonic() + 60
    for node in api:
        while not node._healthy():
            assert time.monotonic() < deadline, node.last_log()
            time.sleep(0.1)  # a child process's readiness, not test logic


def _seed(tmp_path: Path, database_url: str, base: dict[str, str], node: Node) -> Caller:
    """A maker with a free and a paid spell published through an API node; a caster with credit."""
    settings = ServerSettings.for_home(
        tmp_path / "seed", database_url=database_url, secret_key=base["SPELL_SERVER_SECRET_KEY"]
    )
    platform = Platform.build(settings, runtimes={})
    try:
        maker = seed_user(platform, "maker@example.com", ["maker"])
        caster = seed_user(platform, "caster@example.com", ["caster"])
        credit(platform, caster.user_id, PRICE * CASTS * 2)
    finally:
        platform.db.engine.dispose()
    publisher = new_publisher("acme")
    with httpx.Client(base_url=node.url, timeout=30) as http:
        registered = http.post(
            "/v1/publishers/acme/keys",
            headers=maker.headers,
            json={"key_id": publisher.key_id, "public_key": publisher.public_key},
        )
        assert registered.status_code == 201, registered.text
        for spell_id, pricing in (("acme/free", ""), ("acme/paid", FLAT)):
            bundle = wasm_bundle(tmp_path / "bundles" / spell_id.split("/")[1], spell_id)
            if pricing:
                with (bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
                    manifest.write(pricing)
            sign_bundle(bundle, publisher.private_key, key_id=publisher.key_id)
            published = http.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
            assert published.status_code == 201, published.text
    return caster


def _cast(cluster: Cluster, tally: Tally, job: tuple[int, str, str, bool], deadline: float) -> None:
    """One cast, retried under its idempotency key while the deployment refuses it cleanly."""
    index, key, spell_id, sync = job
    attempt = 0
    headers = {**cluster.caster.headers, "Idempotency-Key": key}
    if sync:
        headers["Prefer"] = "wait=10"
    while True:
        node = cluster.api[(index + attempt) % 2]  # a retry goes to the other node, as a balancer would
        attempt += 1
        try:
            response = httpx.post(
                f"{node.url}/v1/spells/{spell_id}/cast",
                headers=headers,
                json={"input": {"name": key}},
                timeout=30,
            )
        except httpx.TransportError:
            assert time.monotonic() < deadline, f"cast {key} never accepted"
            time.sleep(0.2)  # backing off a node that does not answer
            continue
        with tally.lock:
            tally.statuses[response.status_code] += 1
        if response.status_code in (200, 202):
            cast_id = response.json()["id"]
            with tally.lock:
                previous = tally.accepted.setdefault(key, cast_id)
                tally.done_at.append(time.monotonic())
            assert previous == cast_id, f"{key} answered two casts: {previous} and {cast_id}"
            return
        body = response.json()
        code = body.get("error", {}).get("code", "?") if isinstance(body.get("error"), dict) else "?"
        if response.status_code == 503 and code in CLEAN_REFUSALS and response.headers.get("Retry-After"):
            with tally.lock:
                tally.refusals[code] += 1
            assert time.monotonic() < deadline, f"cast {key} refused until the deadline"
            time.sleep(min(float(response.headers["Retry-After"]), 1.0))  # the server's own back-off
            continue
        with tally.lock:
            tally.unclean.append(f"{response.status_code} {response.text[:300]}")
        return


def _chaos(cluster: Cluster, stop: threading.Event, kills: list[float]) -> None:
    """SIGKILL a random worker every 1-2 s and start it again; restart any worker that exited."""
    rng = random.Random(16)  # noqa: S311 - chaos, not cryptography
    while not stop.wait(rng.uniform(1.0, 2.0)):
        victim = rng.choice(cluster.workers)
        victim.kill()
        kills.append(time.monotonic())
        for worker in cluster.workers:
            if not worker.alive():
                worker.start(wait=False)


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _terminate_connections(cluster: Cluster) -> int:
    admin = create_engine(_psycopg(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = :name"
                ),
                {"name": cluster.app_name},
            ).scalar_one()
    finally:
        admin.dispose()
    return int(killed)


def _server_errors(cluster: Cluster) -> list[str]:
    """The tracebacks the nodes logged for requests that failed unexpectedly."""
    found: list[str] = []
    for log in sorted(cluster.api[0].logs.glob("*.log")):
        text_ = log.read_text(errors="replace")
        at = text_.find("unhandled error")
        while at >= 0 and len(found) < 5:
            found.append(f"{log.name}: {text_[at : at + 4000]}")
            at = text_.find("unhandled error", at + 1)
    return found


def _jobs() -> list[tuple[int, str, str, bool]]:
    rng = random.Random(500)  # noqa: S311 - a reproducible mix
    jobs = [(i, f"fault-{i}", "acme/paid" if i % 2 else "acme/free", i % 3 == 0) for i in range(CASTS)]
    # Some keys go out twice (a client retrying after a lost answer); they must name one cast.
    jobs += [(i + 1, key, spell, sync) for i, key, spell, sync in rng.sample(jobs, CASTS // 10)]
    rng.shuffle(jobs)
    return jobs


def _until_terminal(cluster: Cluster, seconds: float) -> float:
    start = time.monotonic()
    while True:
        with cluster.engine.connect() as conn:
            left: dict[str, int] = dict(
                conn.execute(
                    text(
                        "SELECT status, count(*) FROM casts WHERE status NOT IN :terminal GROUP BY status"
                    ).bindparams(bindparam("terminal", expanding=True)),
                    {"terminal": list(TERMINAL)},
                ).all()
            )
        assert left == {} or time.monotonic() - start < seconds, f"casts still open after {seconds}s: {left}"
        if not left:
            return time.monotonic() - start
        time.sleep(0.5)  # polling other processes' progress in the shared database


def _cli(cluster: Cluster, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        env={**os.environ, **cluster.env, "SPELL_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_casts_survive_killed_workers_a_nats_restart_and_dropped_database_connections(
    cluster: Cluster, tmp_path: Path
) -> None:
    jobs = _jobs()
    tally = Tally()
    stop = threading.Event()
    kills: list[float] = []
    chaos = threading.Thread(target=_chaos, args=(cluster, stop, kills), daemon=True)
    deadline = time.monotonic() + 120
    started = time.monotonic()
    chaos.start()
    faults: dict[str, float] = {}
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(_cast, cluster, tally, job, deadline) for job in jobs]
        while len(tally.done_at) < len(jobs) * 0.3 and time.monotonic() < deadline:
            time.sleep(0.1)  # waiting for the run to reach the fault's moment
        faults["nats_down"] = time.monotonic()
        cluster.broker.stop()
        time.sleep(1.0)  # the outage
        cluster.broker.start()
        faults["nats_up"] = time.monotonic()
        while len(tally.done_at) < len(jobs) * 0.6 and time.monotonic() < deadline:
            time.sleep(0.1)  # waiting for the run to reach the fault's moment
        faults["pg_drop"] = time.monotonic()
        faults["pg_killed"] = _terminate_connections(cluster)
        for future in futures:
            future.result()
    sent = time.monotonic() - started
    stop.set()
    chaos.join(10)
    settle = _until_terminal(cluster, 60)
    total = time.monotonic() - started

    assert not tally.unclean, (tally.unclean[:5], _server_errors(cluster))
    assert 500 not in tally.statuses
    keys = {key for _, key, _, _ in jobs}
    assert set(tally.accepted) == keys

    with cluster.engine.connect() as conn:
        rows = conn.execute(text("SELECT idempotency_key, id, status, spell_id FROM casts")).all()
        per_key = Counter(row[0] for row in rows)
        assert set(per_key) == keys
        assert max(per_key.values()) == 1, "a key made two casts"
        assert {row[0]: row[1] for row in rows} == tally.accepted
        captures = conn.execute(
            text(
                "SELECT cast_id, count(*) FROM ledger_transactions"
                " WHERE idempotency_key LIKE :suffix GROUP BY cast_id"
            ),
            {"suffix": "%:capture"},
        ).all()
        assert all(count == 1 for _, count in captures), "a cast was captured twice"
        # The runner writes ``running`` when it claims a cast: a second one would be a second run.
        runs: dict[str, int] = dict(
            conn.execute(
                text("SELECT cast_id, count(*) FROM cast_events WHERE type = 'running' GROUP BY cast_id")
            ).all()
        )
        assert max(runs.values()) == 1, "a cast ran twice"
        assert {row[1] for row in rows if row[2] == "succeeded"} <= set(runs)
        open_holds = conn.execute(text("SELECT count(*) FROM holds WHERE status = 'held'")).scalar_one()
        captured = conn.execute(text("SELECT coalesce(sum(captured_micros), 0) FROM holds")).scalar_one()
        paid_succeeded = sum(1 for row in rows if row[3] == "acme/paid" and row[2] == "succeeded")
    assert open_holds == 0
    assert captured == PRICE * paid_succeeded
    assert len(captures) == paid_succeeded

    for command in (("ledger", "verify"), ("audit", "verify")):
        result = _cli(cluster, tmp_path / "admin", *command)
        assert result.returncode == 0, result.stdout + result.stderr

    statuses = Counter(row[2] for row in rows)

    def recovery(fault: str) -> float:  # from the fault to the next accepted cast
        return min((at for at in tally.done_at if at > faults[fault]), default=float("nan")) - faults[fault]

    print(  # noqa: T201 - the run's figures, shown with -s
        f"\nfault run: {len(jobs)} requests ({len(keys)} keys) sent in {sent:.1f}s "
        f"({len(jobs) / sent:.0f}/s under chaos), all terminal {settle:.1f}s later, {total:.1f}s in all; "
        f"{len(kills)} worker kills, NATS down {faults['nats_up'] - faults['nats_down']:.1f}s "
        f"(next cast accepted {recovery('nats_up'):.2f}s after it came back), "
        f"{faults['pg_killed']:.0f} PostgreSQL connections dropped (next cast accepted "
        f"{recovery('pg_drop'):.2f}s later); statuses {dict(statuses)}; "
        f"HTTP {dict(tally.statuses)}; clean refusals {dict(tally.refusals)}"
    )
