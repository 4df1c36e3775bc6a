"""Sync casts over HTTP against a live ``spell serve`` and, in the same run, a bare FastAPI hello.

Starts both servers as subprocesses on free ports (SQLite embedded default in a temp SPELL_HOME, the
example ``samples/hello-wasm`` spell), then for each concurrency sends requests for a fixed time and
prints median, p99 and requests/s. Each cast uses ``Prefer: wait=10`` and a fresh Idempotency-Key, so
every request is a real cast (auth, validation, DB writes, WASM run, result inline; see docs/server.md
for the inline path). Also prints the server process's CPU per request (from /proc) and where one
cast's time goes in process.

    .venv/bin/python benchmarks/api_bench.py [--seconds 5] [--concurrency 1,8,32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
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


async def load(
    url: str,
    headers: dict[str, str],
    body: dict[str, object],
    concurrency: int,
    seconds: float,
    *,
    cast: bool,
) -> tuple[list[float], int, float]:
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
                response = await client.post(url, headers={**headers, **extra}, json=body)
                elapsed = time.perf_counter() - started
                ok = response.status_code == 200 and (
                    not cast or response.json().get("status") == "succeeded"
                )
                if ok:
                    latencies.append(elapsed * 1000)
                else:
                    failures += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - began
    return latencies, failures, wall


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def row(name: str, concurrency: int, latencies: list[float], failures: int, wall: float, cpu: float) -> str:
    """One table row; ``cpu`` is the server process's CPU seconds during the row."""
    if not latencies:
        return f"| {name} | {concurrency} | 0 | - | - | - | - | {failures} |"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"| {name} | {concurrency} | {len(ordered)} | {statistics.median(ordered):.2f} | {p99:.2f} | "
        f"{len(ordered) / wall:.0f} | {cpu * 1000 / len(ordered):.2f} | {failures} |"
    )


STAGES = """
import json, statistics, sys, time
from spell.config.server import ServerSettings
from spell.platform.cast.service import CastRequestBody
from spell.platform.server import Platform

token = sys.argv[1]
platform = Platform.build(ServerSettings.from_env())
rows = []
for index in range(int(sys.argv[2])):
    marks = []
    t0 = time.perf_counter()
    principal = platform.auth.cached_principal(token)
    if principal is None:  # first use: the cache is filled by a full lookup, as in the server
        with platform.db.unit_of_work(write=False) as uow:
            principal = platform.auth.authenticate_key(uow, token)
    t1 = time.perf_counter()
    body = CastRequestBody(spell_id="samples/hello-wasm", input={"name": "w"})
    # what a Prefer: wait request runs on its cast thread: create it running, run it, finish it
    cast, _ = platform.runner.cast_now(
        principal, body, f"stage-{index}", on_created=lambda c, r: marks.append(time.perf_counter())
    )
    t3 = time.perf_counter()
    assert cast.status == "succeeded", cast.status
    rows.append((t1 - t0, marks[0] - t1, t3 - marks[0]))
platform.stop()
rows = rows[len(rows) // 5:]  # drop the warm-up fifth
names = ["authenticate (cached key lookup)", "create running (validate, idempotency, insert, hold, audit)",
         "run and finish (wasm, settle, terminal write, audit)"]
print(json.dumps({n: statistics.median(r[i] for r in rows) * 1000 for i, n in enumerate(names)}))
"""


def stage_table(env: dict[str, str], token: str, count: int) -> None:
    """Median ms of each stage of one cast, in process and sequential (no HTTP, no threads)."""
    import json

    out = (
        subprocess.run(
            [PY, "-c", STAGES, token, str(count)],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    stages = json.loads(out)
    print("\n| stage of one cast (in process) | median ms |")
    print("| --- | ---: |")
    for name, ms in stages.items():
        print(f"| {name} | {ms:.2f} |")
    print(f"| total | {sum(stages.values()):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--workers", type=int, default=2, help="cast worker threads of the server")
    args = parser.parse_args()
    levels = [int(part) for part in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "SPELL_HOME": home, "SPELL_SERVER_WORKERS": str(args.workers)}
        env.pop("SPELL_DATABASE_URL", None)
        token = (
            subprocess.run([PY, "-c", SEED], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
            .stdout.strip()
            .splitlines()[-1]
        )
        spell_port, hello_port = free_port(), free_port()
        spell = subprocess.Popen(
            [str(ROOT / ".venv/bin/spell"), "serve", "--port", str(spell_port)],
            env=env,
            cwd=ROOT,
            stderr=subprocess.DEVNULL,
        )
        hello = subprocess.Popen([PY, "-c", HELLO_APP, str(hello_port)], cwd=ROOT, stderr=subprocess.DEVNULL)
        try:
            wait_ready(f"http://127.0.0.1:{spell_port}/healthz", spell)
            wait_ready(f"http://127.0.0.1:{hello_port}/docs", hello)
            cast_url = f"http://127.0.0.1:{spell_port}/v1/spells/samples/hello-wasm/cast"
            cast_headers = {"Authorization": f"Bearer {token}", "Prefer": "wait=10"}
            body: dict[str, object] = {"input": {"name": "world"}}
            asyncio.run(load(cast_url, cast_headers, body, 4, 1.0, cast=True))  # warm-up (compile, caches)
            print(f"api_bench: {args.seconds:.0f} s per row, server workers={args.workers}, SQLite (WAL)\n")
            print(
                "| target | concurrency | requests | median ms | p99 ms | req/s "
                "| server CPU ms/req | failed |"
            )
            print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            for level in levels:
                before = cpu_seconds(hello.pid)
                lat, fail, wall = asyncio.run(
                    load(f"http://127.0.0.1:{hello_port}/hello", {}, body, level, args.seconds, cast=False)
                )
                used = cpu_seconds(hello.pid) - before
                print(row("bare FastAPI hello (baseline)", level, lat, fail, wall, used), flush=True)
                before = cpu_seconds(spell.pid)
                lat, fail, wall = asyncio.run(
                    load(cast_url, cast_headers, body, level, args.seconds, cast=True)
                )
                used = cpu_seconds(spell.pid) - before
                print(row("spell sync cast hello-wasm", level, lat, fail, wall, used), flush=True)
        finally:
            for proc in (spell, hello):
                proc.terminate()
                proc.wait(timeout=10)
        stage_table(env, token, 200)


if __name__ == "__main__":
    main()
