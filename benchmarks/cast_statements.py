"""Where one sync cast's database time goes: statements, round trips and commits per cast, by table.

Seeds a fresh database (SQLite in a temp SPELL_HOME, or a fresh PostgreSQL database), then runs
``--casts`` sequential casts of ``samples/hello-wasm`` in process (no HTTP) while SQLAlchemy's cursor
events count every statement and time it. Each cast takes the path a ``Prefer: wait`` request takes
on that database: the quick attempt, as on the event loop (on PostgreSQL in a greenlet whose waits
yield to the loop). Prints, per database: the wall
time per cast, the share spent inside statements and commits, on PostgreSQL the round trips (from
libpq's protocol trace: each turn from messages sent to messages read), and each
statement shape (verb + table) with its count per cast and median time. The same figures guide
docs/performance.md's PostgreSQL section.

    .venv/bin/python benchmarks/cast_statements.py [--casts 300] [--database sqlite,postgresql]
                                                   [--baseline-src <another checkout>]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_bench import ROOT, drop_databases, postgres_database, seed

PY = sys.executable

PROFILE = r"""
import collections, json, re, statistics, sys, time, uuid
from sqlalchemy import event
from spell.config.server import ServerSettings
from spell.platform.cast.service import CastRequestBody
from spell.platform.server import Platform

token, count = sys.argv[1], int(sys.argv[2])
platform = Platform.build(ServerSettings.from_env())
engine = platform.db.engine
stats = collections.defaultdict(list)
commits = []
state = {"on": False}

def shape(sql):
    text = " ".join(sql.split()).upper()
    verb = text.split(" ", 1)[0]
    table = re.search(r"(?:FROM|INTO|UPDATE)\s+\"?([A-Z_]+)", text)
    return f"{verb} {table.group(1).lower() if table else ''}".strip()

# PostgreSQL: quick casts run on the event loop take the loop engine's connections
engines = [engine] + ([platform.db.loop_engine] if platform.db.loop_engine is not None else [])

def before(conn, cursor, statement, parameters, context, executemany):
    conn.info["t0"] = time.perf_counter()

def after(conn, cursor, statement, parameters, context, executemany):
    if state["on"]:
        stats[shape(statement)].append(time.perf_counter() - conn.info["t0"])

for each in engines:
    event.listen(each, "before_cursor_execute", before)
    event.listen(each, "after_cursor_execute", after)

# Hot statements skip SQLAlchemy's execution (spell.storage.prepared): time them where they run.
from spell.storage import prepared
_execute = prepared.Prepared._execute

def timed_execute(self, session, rows, *, many):
    t0 = time.perf_counter()
    try:
        return _execute(self, session, rows, many=many)
    finally:
        if state["on"]:
            elapsed = time.perf_counter() - t0
            sql = str(self.statement.compile(dialect=session.connection().dialect))
            stats["prepared: " + shape(sql)].append(elapsed)

prepared.Prepared._execute = timed_execute
dialect_class = type(engine.dialect)
_commit = dialect_class.do_commit

def timed_commit(self, dbapi_connection):
    t0 = time.perf_counter()
    try:
        return _commit(self, dbapi_connection)
    finally:
        if state["on"]:
            stats["COMMIT"].append(time.perf_counter() - t0)

dialect_class.do_commit = timed_commit

# PostgreSQL: libpq traces every protocol message; each Sync (extended protocol) or Query (simple
# protocol) the client sends waits for the server's answer, one round trip.
trace = {"path": sys.argv[3] if len(sys.argv) > 3 else "", "fd": None, "seen": set()}

def traced(dbapi_connection, record, proxy):
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if trace["fd"] is not None and pgconn is not None and id(dbapi_connection) not in trace["seen"]:
        pgconn.trace(trace["fd"])
        trace["seen"].add(id(dbapi_connection))

for each in engines:
    event.listen(each, "checkout", traced)

with platform.db.unit_of_work(write=False) as uow:
    principal = platform.auth.authenticate_key(uow, token)
body = CastRequestBody(spell_id="samples/hello-wasm", input={"name": "w"})
orchestrator = platform.orchestrator

import asyncio, functools
from spell.storage import yielding
loop = asyncio.new_event_loop()

def cast_now(principal, body, key):
    # What a ``Prefer: wait`` request does: the quick attempt (on the event loop: on PostgreSQL in a
    # greenlet whose waits yield to it), else a cast thread's path; a quick attempt that overran
    # reruns as the server would.
    if not orchestrator.quick:
        ended = orchestrator.cast_now(principal, body, key)
        platform.runner._slow.clear()  # as below: one slow moment does not bench the spell
        return ended
    quick = functools.partial(orchestrator.cast_quick, principal, body, key, on_loop=True)
    if orchestrator._quick_yields:
        created, done = loop.run_until_complete(yielding.run(quick))
    else:
        created, done = quick()
    if done:
        return created.cast, created.replay
    platform.runner._slow.clear()  # a slow moment of the machine: un-bench the spell
    return platform.runner.execute(created.cast, created.version), False
run = uuid.uuid4().hex[:8]  # fresh idempotency keys per run: every cast is a real one
for index in range(20):
    cast_now(principal, body, f"warm-{run}-{index}")
walls = []
if trace["path"]:
    import os
    trace["fd"] = os.open(trace["path"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
state["on"] = True
for index in range(count):
    t0 = time.perf_counter()
    cast, _ = cast_now(principal, body, f"prof-{run}-{index}")
    walls.append(time.perf_counter() - t0)
    assert cast.status == "succeeded", cast.status
state["on"] = False
pooled = [c for each in engines if hasattr(each.pool, "_pool") for c in list(each.pool._pool.queue)]
for conn in pooled:
    pgconn = getattr(conn.dbapi_connection, "pgconn", None)
    if pgconn is not None:
        pgconn.untrace()
platform.stop()
round_trips = None
if trace["path"]:
    # lines: [timestamp] direction length message ...; the client waited for the server each time
    # the trace turns from what it sent (F) to what it read (B), however many messages it pipelined.
    sides = [parts[0] if parts[0] in "FB" else parts[1] for line in open(trace["path"], errors="replace")
             if len(parts := line.split("\t")) > 2]
    turns = sum(1 for index in range(1, len(sides)) if sides[index] == "B" and sides[index - 1] == "F")
    round_trips = turns / count
rows = []
for name, times in stats.items():
    rows.append({"shape": name, "per_cast": len(times) / count, "median_ms": statistics.median(times) * 1000,
                 "total_ms_per_cast": sum(times) * 1000 / count})
rows.sort(key=lambda r: -r["total_ms_per_cast"])
print(json.dumps({"wall_ms": statistics.median(walls) * 1000, "rows": rows, "round_trips": round_trips}))
"""


def profile(env: dict[str, str], token: str, casts: int, trace: Path | None) -> dict[str, object]:
    command = [PY, "-c", PROFILE, token, str(casts), *([str(trace)] if trace else [])]
    out = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"cast_statements: the profile run failed:\n{out.stderr}")
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--casts", type=int, default=300)
    parser.add_argument("--database", default="sqlite,postgresql")
    parser.add_argument(
        "--baseline-src", help="another checkout (e.g. of the previous commit) measured first, per database"
    )
    args = parser.parse_args()
    trees = [("", ROOT / "src")]
    if args.baseline_src:
        trees.insert(0, (" (baseline)", Path(args.baseline_src).resolve() / "src"))
    runs = [(db.strip(), label, src) for db in args.database.split(",") for label, src in trees]
    created: list[str] = []
    with tempfile.TemporaryDirectory() as home:
        try:
            for index, (database, label, src) in enumerate(runs):
                url = postgres_database(created) if database == "postgresql" else None
                env, token = seed(Path(home) / f"h{index}", src, url)
                trace = Path(home) / f"trace{index}.txt" if database == "postgresql" else None
                result = profile(env, token, args.casts, trace)
                rows: list[dict[str, float]] = result["rows"]  # type: ignore[assignment]
                in_db = sum(r["total_ms_per_cast"] for r in rows)
                statements = sum(r["per_cast"] for r in rows)
                trips = result.get("round_trips")
                print(
                    f"\n{database}{label}: {result['wall_ms']:.2f} ms per cast (median), "
                    f"{statements:.1f} statements per cast, {in_db:.2f} ms in statements (mean)"
                    + (f", {trips:.1f} round trips per cast" if trips is not None else "")
                    + "\n"
                )
                print("| statement | per cast | median ms | ms per cast |")
                print("| --- | ---: | ---: | ---: |")
                for r in rows:
                    print(
                        f"| {r['shape']} | {r['per_cast']:.2f} | {r['median_ms']:.3f} | "
                        f"{r['total_ms_per_cast']:.3f} |"
                    )
        finally:
            if created:
                drop_databases(created)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
