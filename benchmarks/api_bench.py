"""Sync casts over HTTP against a live ``spell serve`` and, in the same run, a bare FastAPI hello.

Starts the servers as subprocesses on free ports (SQLite embedded default in a temp SPELL_HOME, the
example ``samples/hello-wasm`` spell): the bare hello, then ``spell serve`` with each ``--processes``
count asked for. For each concurrency it sends requests for a fixed time, ``--rounds`` times, and
prints the median round: median and p99 latency, requests/s, and the server's CPU per request (all its
processes, from /proc). Each cast uses ``Prefer: wait=10`` and a fresh Idempotency-Key, so every
request is a real cast (auth, validation, DB writes, WASM run, result inline; see docs/server.md).

The load comes from ``wrk`` (a C load generator, Debian package ``wrk``) when it is installed, so
that the generator takes little of the machine's CPU from the server; else from an httpx client in
Python, which needs about as much CPU per request as the bare hello server does. Last, it prints where
one cast's time goes in process.

With ``--database sqlite,postgresql`` each server runs once per database, side by side in the same
run; PostgreSQL gets a fresh database per tree (``SPELL_BENCH_POSTGRES_URL``, default the local server
with trust auth), dropped at the end.

    .venv/bin/python benchmarks/api_bench.py [--seconds 4] [--rounds 3] [--concurrency 1,8,32]
                                             [--processes 1,2] [--load wrk|httpx]
                                             [--database sqlite|postgresql|sqlite,postgresql]
                                             [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

HELLO_APP = """
import sys, uvicorn
from fastapi import FastAPI
app = FastAPI()
@app.post("/hello")
async def hello(body: dict) -> dict:
    return {"greeting": "hello", "input": body.get("input")}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""

# Rate limits stay on, as by default, above what one tenant's load reaches here: the table shows what
# counting costs, not refusals.
BENCH_SETTINGS = {
    "SPELL_SERVER_RATE_LIMIT_PER_MINUTE": "100000000",
    "SPELL_SERVER_TENANT_RATE_LIMIT_PER_MINUTE": "100000000",
}

SEED = """
import sys
from pathlib import Path
from spell.config.server import ServerSettings
from spell.platform.demo import seed_demo
from spell.platform.server import Platform
from spell.storage.migrate import upgrade
settings = ServerSettings.from_env()
upgrade(settings.database_url)
platform = Platform.build(settings, runtimes={})
key = Path("examples/keys/samples__demo.public.b64url.txt").read_text().strip()
seed = seed_demo(platform, Path("examples/spells"), publisher="samples", key_id="demo", public_key=key)
platform.stop()
print(seed.token)
"""

# wrk: a fresh Idempotency-Key per request; a response counts only when it is 200 and, for a cast,
# the cast succeeded.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '{"input":{"name":"world"}}'
wrk.headers["Content-Type"] = "application/json"
local cast = %(cast)s
local counter, prefix = 0, ""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  math.randomseed(os.time())
  prefix = string.format("b%%d-", math.random(1, 1000000000))
end
request = function()
  if cast then
    counter = counter + 1
    wrk.headers["Idempotency-Key"] = prefix .. counter
  end
  return wrk.format(nil, nil, wrk.headers, wrk.body)
end
bad = 0
response = function(status, headers, body)
  if status ~= 200 or (cast and not string.find(body, '"succeeded"', 1, true)) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format("RESULT %%d %%d %%.3f %%.3f %%d\\n", summary.requests, total,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.duration))
end
"""


@dataclass
class Round:
    requests: int
    failures: int
    median_ms: float
    p99_ms: float
    wall_s: float
    cpu_s: float

    @property
    def rate(self) -> float:
        return (self.requests - self.failures) / self.wall_s


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode})")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} never became ready")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children so far (Linux ``/proc``)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            _, _, rest = (entry / "stat").read_text().rpartition(")")
        except OSError:
            continue
        fields = rest.split()
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def httpx_load(
    url: str, headers: dict[str, str], concurrency: int, seconds: float, *, cast: bool
) -> tuple[int, int, float, float, float]:
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < stop:
                extra = {"Idempotency-Key": uuid.uuid4().hex} if cast else {}
                started = time.perf_counter()
                response = await client.post(
                    url, headers={**headers, **extra}, json={"input": {"name": "world"}}
                )
                elapsed = time.perf_counter() - started
                if response.status_code == 200 and (not cast or response.json().get("status") == "succeeded"):
                    latencies.append(elapsed * 1000)
                else:
                    failures += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - began
    ordered = sorted(latencies) or [0.0]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return len(latencies) + failures, failures, statistics.median(ordered), p99, wall


def wrk_load(
    url: str, headers: dict[str, str], concurrency: int, seconds: float, *, cast: bool, scratch: Path
) -> tuple[int, int, float, float, float]:
    script = scratch / ("cast.lua" if cast else "hello.lua")
    script.write_text(WRK_SCRIPT % {"cast": "true" if cast else "false"}, encoding="utf-8")
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    found = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+)", out)
    if found is None:
        raise SystemExit(f"wrk printed no result:\n{out}")
    requests, failures = int(found[1]), int(found[2])
    return requests, failures, float(found[3]), float(found[4]), int(found[5]) / 1e6


def measure(
    load: str,
    url: str,
    headers: dict[str, str],
    level: int,
    seconds: float,
    pid: int,
    *,
    cast: bool,
    scratch: Path,
) -> Round:
    before = tree_cpu_seconds(pid)
    if load == "wrk":
        got = wrk_load(url, headers, level, seconds, cast=cast, scratch=scratch)
    else:
        got = asyncio.run(httpx_load(url, headers, level, seconds, cast=cast))
    return Round(*got, cpu_s=tree_cpu_seconds(pid) - before)


def row(name: str, level: int, rounds: list[Round]) -> str:
    """The median round (by requests/s) as a table row, with the spread of the rate over the rounds."""
    ordered = sorted(rounds, key=lambda r: r.rate)
    mid = ordered[len(ordered) // 2]
    good = max(mid.requests - mid.failures, 1)
    spread = f"{ordered[0].rate:.0f} to {ordered[-1].rate:.0f}"
    return (
        f"| {name} | {level} | {mid.requests} | {mid.median_ms:.2f} | {mid.p99_ms:.2f} | {mid.rate:.0f} "
        f"| {spread} | {mid.cpu_s * 1000 / good:.2f} | {sum(r.failures for r in rounds)} |"
    )


def ratio_table(
    rates: dict[tuple[int, str, int, str], dict[int, float]],
    repeat: int,
    counts: list[int],
    trees: list[tuple[str, Path]],
    levels: list[int],
) -> None:
    """PostgreSQL's casts/s over SQLite's of the same run, per concurrency, and PostgreSQL's rate at the
    highest concurrency over its rate at the lowest (its fall-off, below 1)."""
    print("\n| run | PostgreSQL / SQLite casts/s, by concurrency | PostgreSQL c=max / c=min |")
    print("| --- | --- | ---: |")
    for rep in range(repeat):
        for count in counts:
            for label, _src in trees:
                pg, lite = rates[(rep, "postgresql", count, label)], rates[(rep, "sqlite", count, label)]
                ratios = ", ".join(f"c={level}: {pg[level] / max(lite[level], 1e-9):.2f}" for level in levels)
                fall = pg[levels[-1]] / max(pg[levels[0]], 1e-9)
                name = f"{rep + 1}, {count} process{'es' if count > 1 else ''}{label}"
                print(f"| {name} | {ratios} | {fall:.2f} |")


STAGES = """
import json, statistics, sys, time
from spell.config.server import ServerSettings
from spell.platform.cast.service import CastRequestBody
from spell.platform.server import Platform

token = sys.argv[1]
platform = Platform.build(ServerSettings.from_env())
with platform.db.unit_of_work(write=False) as uow:
    principal = platform.auth.authenticate_key(uow, token)
body = CastRequestBody(spell_id="samples/hello-wasm", input={"name": "w"})
casting = getattr(platform, "orchestrator", None)
if casting is None:  # a checkout (such as a baseline) whose runner creates casts itself
    cast_now, cast_quick = platform.runner.cast_now, platform.runner.cast_quick
else:
    cast_now = casting.cast_now
    loop = None
    if getattr(casting, "_quick_yields", False):  # PostgreSQL: the attempt runs on the loop, in a greenlet
        import asyncio, functools
        from spell.storage import yielding
        loop = asyncio.new_event_loop()

    def cast_quick(principal, body, key):
        if loop is None:
            created, done = casting.cast_quick(principal, body, key)
        else:
            quick = functools.partial(casting.cast_quick, principal, body, key, on_loop=True)
            created, done = loop.run_until_complete(yielding.run(quick))
        return created.cast, created.replay, done
cast_now(principal, body, "stage-warm-up")  # loads the module: quick casts may follow
quick, threaded, overran = [], [], 0
for index in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    cast, _, done = cast_quick(principal, body, f"stage-q-{index}")
    t1 = time.perf_counter()
    if done:
        assert cast.status == "succeeded", cast.status
        quick.append(t1 - t0)
    else:  # a slow moment of the machine overran the quick budget: the cast reruns on a thread
        overran += 1
        platform.runner._slow.clear()  # un-bench the spell so the next attempts stay quick
    cast, _ = cast_now(principal, body, f"stage-t-{index}")
    threaded.append(time.perf_counter() - t1)
    assert cast.status == "succeeded", cast.status
platform.stop()
skip = len(quick) // 5  # the warm-up fifth
print(json.dumps({
    "quick cast: create, run and end in one transaction, as on the event loop (PostgreSQL: in a greenlet)":
        statistics.median(quick[skip:]) * 1000,
    "a cast thread's path (cast_now: on PostgreSQL the quick attempt, else create, commit, run, end)":
        statistics.median(threaded[skip:]) * 1000,
    "quick attempts that overran their budget (left out above)": overran,
}))
"""


def stage_table(env: dict[str, str], token: str, count: int) -> None:
    """Median ms of one cast in process, sequential (no HTTP): the quick path and the thread path."""
    out = subprocess.run(
        [PY, "-c", STAGES, token, str(count)], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"api_bench: the in-process stage run failed:\n{out.stderr}")
    stages = json.loads(out.stdout.strip().splitlines()[-1])
    print("\n| one cast in process (no HTTP) | median ms |")
    print("| --- | ---: |")
    for name, ms in stages.items():
        print(f"| {name} | {ms:.2f} |" if isinstance(ms, float) else f"| {name} | {ms} |")


POSTGRES_ADMIN_URL = os.environ.get(
    "SPELL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def postgres_database(created: list[str]) -> str:
    """A fresh, empty PostgreSQL database for one server; its SQLAlchemy URL."""
    import psycopg

    name = f"spell_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    created.append(name)
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def drop_databases(names: list[str]) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(home: Path, src: Path, database_url: str | None = None) -> tuple[dict[str, str], str]:
    """A fresh SPELL_HOME seeded by the code under ``src``: its environment and a demo key."""
    env = {**os.environ, "SPELL_HOME": str(home), "PYTHONPATH": str(src), **BENCH_SETTINGS}
    env.pop("SPELL_DATABASE_URL", None)
    if database_url:
        env["SPELL_DATABASE_URL"] = database_url
    # each tree seeds its own examples: their manifests follow that tree's rules
    seeded = subprocess.run(
        [PY, "-c", SEED], env=env, cwd=src.parent, check=True, capture_output=True, text=True
    )
    return env, seeded.stdout.strip().splitlines()[-1]


def serve_and_measure(
    args: argparse.Namespace,
    env: dict[str, str],
    token: str,
    count: int,
    label: str,
    scratch: Path,
    levels: list[int],
) -> dict[int, float]:
    """Start ``spell serve`` with ``count`` processes and print a row per concurrency level; the median
    round's casts/s per level."""
    headers = {"Authorization": f"Bearer {token}", "Prefer": "wait=10"}
    port = free_port()
    spell = subprocess.Popen(
        [
            PY,
            "-c",
            "from spell.cli.app import main; main()",
            "serve",
            "--port",
            str(port),
            "--processes",
            str(count),
        ],
        env=env,
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", spell)
        url = f"http://127.0.0.1:{port}/v1/spells/samples/hello-wasm/cast"
        measure(args.load, url, headers, 8, 2, spell.pid, cast=True, scratch=scratch)  # warm-up
        rates = {}
        for level in levels:
            rounds = [
                measure(args.load, url, headers, level, args.seconds, spell.pid, cast=True, scratch=scratch)
                for _ in range(args.rounds)
            ]
            name = f"spell sync cast hello-wasm, {count} process{'es' if count > 1 else ''}{label}"
            print(row(name, level, rounds), flush=True)
            rates[level] = sorted(r.rate for r in rounds)[len(rounds) // 2]
        return rates
    finally:
        spell.terminate()
        spell.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--processes", default="1,2", help="server process counts to measure")
    parser.add_argument("--load", choices=["wrk", "httpx"], default="wrk" if shutil.which("wrk") else "httpx")
    parser.add_argument(
        "--database", default="sqlite", help="comma-separated: sqlite, postgresql (each measured in turn)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure every database this many times, alternating (sqlite, postgresql, sqlite, …)",
    )
    parser.add_argument(
        "--baseline-src",
        help="another checkout (e.g. a git worktree of the previous commit) measured in the same run",
    )
    args = parser.parse_args()
    levels = [int(part) for part in args.concurrency.split(",")]
    counts = [int(part) for part in args.processes.split(",")]
    trees = [("", ROOT / "src")]
    if args.baseline_src:
        trees.insert(0, (" (baseline)", Path(args.baseline_src).resolve() / "src"))
    databases = [part.strip() for part in args.database.split(",") if part.strip()]
    if not databases or set(databases) - {"sqlite", "postgresql"}:
        parser.error("--database takes sqlite, postgresql or both, comma-separated")
    created: list[str] = []
    with tempfile.TemporaryDirectory() as home:
        scratch = Path(home)
        seeded = {}
        for db_index, database in enumerate(databases):
            for index, (label, src) in enumerate(trees):
                url = postgres_database(created) if database == "postgresql" else None
                seeded[(database, label)] = seed(scratch / f"home{db_index}-{index}", src, url)
        try:
            run(args, trees, databases, seeded, scratch, levels, counts)
        finally:
            if created:
                drop_databases(created)


def run(
    args: argparse.Namespace,
    trees: list[tuple[str, Path]],
    databases: list[str],
    seeded: dict[tuple[str, str], tuple[dict[str, str], str]],
    scratch: Path,
    levels: list[int],
    counts: list[int],
) -> None:
    """Print the table: the bare hello, then each database, process count and tree."""
    print(
        f"api_bench: load from {args.load}, {args.seconds} s per round, {args.rounds} rounds per row "
        f"(the median round shown, the rate's spread beside it), {' and '.join(databases)}"
        + (f"; baseline code from {args.baseline_src}" if args.baseline_src else "")
        + "\n"
    )
    print(
        "| target | concurrency | requests | median ms | p99 ms | req/s | req/s over rounds "
        "| server CPU ms/req | failed |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    hello_port = free_port()
    hello = subprocess.Popen([PY, "-c", HELLO_APP, str(hello_port)], cwd=ROOT, stderr=subprocess.DEVNULL)
    hello_rates: dict[int, float] = {}
    try:
        wait_ready(f"http://127.0.0.1:{hello_port}/docs", hello)
        url = f"http://127.0.0.1:{hello_port}/hello"
        for level in levels:
            rounds = [
                measure(args.load, url, {}, level, args.seconds, hello.pid, cast=False, scratch=scratch)
                for _ in range(args.rounds)
            ]
            print(row("bare FastAPI hello (baseline)", level, rounds), flush=True)
            hello_rates[level] = sorted(r.rate for r in rounds)[len(rounds) // 2]
    finally:
        hello.terminate()
        hello.wait(timeout=10)
    rates: dict[tuple[int, str, int, str], dict[int, float]] = {}
    for rep in range(args.repeat):  # alternating: a slow moment of the machine hits both databases alike
        for database in databases:
            for count in counts:
                for label, _src in trees:  # the baseline tree and this one back to back, per process count
                    env, token = seeded[(database, label)]
                    tag = f"{label}, {'PostgreSQL' if database == 'postgresql' else 'SQLite'}"
                    if args.repeat > 1:
                        tag += f", run {rep + 1}"
                    rates[(rep, database, count, label)] = serve_and_measure(
                        args, env, token, count, tag, scratch, levels
                    )
    if set(databases) == {"sqlite", "postgresql"}:
        ratio_table(rates, args.repeat, counts, trees, levels)
    heads = " | ".join(f"c={v}" for v in levels)
    print(f"\n| casts/s over the bare hello's req/s (same run) | {heads} |")
    print("| --- |" + " ---: |" * len(levels))
    for (rep, database, count, label), got in rates.items():
        name = f"{database}, {count} process{'es' if count > 1 else ''}{label}" + (
            f", run {rep + 1}" if args.repeat > 1 else ""
        )
        shares = " | ".join(f"{got[v] / max(hello_rates[v], 1e-9):.0%}" for v in levels)
        print(f"| {name} | {shares} |")
    for database in databases:
        env, token = seeded[(database, "")]
        print(f"\n{'PostgreSQL' if database == 'postgresql' else 'SQLite'}:")
        stage_table(env, token, 400)


if __name__ == "__main__":
    main()
