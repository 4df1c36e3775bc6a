"""Where one sync cast over HTTP spends its CPU, per layer, measured in process.

Seeds a fresh SPELL_HOME (SQLite, or with ``--database postgresql`` a fresh PostgreSQL database; the
example ``samples/hello-wasm`` spell, as ``api_bench.py``), builds
the app exactly as ``spell serve`` does (``spell.api.serving.app_from_env``) and drives it three ways,
sequentially (concurrency 1), each cast with ``Prefer: wait=10`` and a fresh Idempotency-Key:

1. in process, ASGI calls straight into the app (no socket, no HTTP parsing): CPU ms per cast
   (``time.process_time``) with no profiler on; the same for a bare FastAPI hello app;
2. in process under ``cProfile``: every function's own time put in a layer (middleware, framework,
   auth, admission, database, run, encoding, logging, metrics; builtins and the standard library go
   to the layer that called them), scaled to the unprofiled CPU of (1);
3. over a real socket: ``spell serve`` (and the bare hello under uvicorn) in a subprocess, a keep-alive
   client here, the server's CPU from /proc; socket CPU minus in-process CPU is what the ASGI server
   and HTTP parsing add.

    PYTHONPATH=src .venv/bin/python benchmarks/http_profile.py [--casts 2000] [--server uvicorn|granian]
        [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import http.client
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_bench

ROOT = api_bench.ROOT
PATH = "/v1/spells/samples/hello-wasm/cast"
BODY = b'{"input":{"name":"world"}}'

# (layer, path fragments of the function's file, function names that override the file's layer)
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("middleware (ours)", ("spell/api/middleware.py", "spell/api/security.py", "spell/api/observe.py")),
    ("auth", ("spell/platform/auth/",)),
    (
        "admission: rate limits, slots, budget",
        (
            "spell/platform/ratelimit/",
            "/limits/",
            "spell/platform/cast/slots.py",
            "spell/platform/cast/limits.py",
        ),
    ),
    (
        "money: hold and capture",
        ("spell/platform/money", "spell/platform/cast/money.py", "spell/platform/billing"),
    ),
    ("database: SQLAlchemy, prepared statements, sqlite3", ("/sqlalchemy/", "spell/storage/", "sqlite3")),
    ("run: WASM sandbox", ("/wasmtime/", "spell/runtimes/", "spell/sandbox")),
    ("audit records", ("spell/platform/audit", "spell/kit/canonical")),
    (
        "response encoding",
        ("spell/platform/cast/schemas.py", "starlette/responses.py", "fastapi/encoders.py"),
    ),
    ("access log and logging", ("/logging/", "spell/platform/logs.py")),
    (
        "metrics and tracing",
        ("spell/platform/metrics.py", "spell/platform/tracing.py", "/prometheus_client/", "/opentelemetry/"),
    ),
    (
        "framework: routing, dependencies, body read and validation",
        (
            "/fastapi/",
            "/starlette/",
            "/pydantic/",
            "/pydantic_core/",
            "spell/api/routing.py",
            "spell/api/deps.py",
            "spell/kit/json_input",
            "/anyio/",
        ),
    ),
    (
        "cast service: create, idempotency, end",
        ("spell/platform/cast/", "spell/platform/", "spell/models", "spell/api/routes/"),
    ),
    ("event loop", ("asyncio/", "uvloop")),
]
FUNCTION_LAYERS = {
    "get_principal": "auth",
    "get_cast_principal": "admission: rate limits, slots, budget",
    "_take": "admission: rate limits, slots, budget",
    "_free": "admission: rate limits, slots, budget",
    "cast_response": "response encoding",
}
# Code that serves whoever calls it: its time goes to the caller's layer.
NEUTRAL = (
    "~",
    "/json/",
    "/re/",
    "/enum.py",
    "/typing.py",
    "/copy.py",
    "/contextlib.py",
    "/functools.py",
    "/threading.py",
    "/datetime.py",
    "/uuid.py",
    "/secrets.py",
    "/random.py",
    "/hashlib.py",
    "/hmac.py",
    "/base64.py",
    "/abc.py",
    "/weakref",
    "/_weakrefset.py",
    "/dataclasses.py",
    "/collections/",
    "/contextvars",
    "/inspect.py",
    "/typing_extensions.py",
    "/types.py",
    "<frozen",
    "<string>",
)


def layer_of(func: tuple[str, int, str]) -> str | None:
    filename, _line, name = func
    if filename == "~" and "sqlite3" in name:
        return "database: SQLAlchemy, prepared statements, sqlite3"
    if filename == "~" and "wasmtime" in name:
        return "run: WASM sandbox"
    if any(part in filename for part in NEUTRAL):
        return None
    if name in FUNCTION_LAYERS and "/spell/" in filename:
        return FUNCTION_LAYERS[name]
    for layer, parts in LAYERS:
        if any(part in filename for part in parts):
            return layer
    return "other"


def by_layer(stats: pstats.Stats) -> dict[str, float]:
    """Own time of every function, summed per layer; neutral code's time split over its callers."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    memo: dict[Any, dict[str, float]] = {}

    def shares(func: Any, depth: int = 0) -> dict[str, float]:
        layer = layer_of(func)
        if layer is not None:
            return {layer: 1.0}
        if func in memo:
            return memo[func]
        callers = raw[func][4] if func in raw else {}
        total = sum(entry[2] for entry in callers.values())
        if depth > 12 or not callers or total <= 0:
            return {"other": 1.0}
        memo[func] = {"other": 1.0}  # a cycle ends here
        out: dict[str, float] = defaultdict(float)
        for caller, entry in callers.items():
            for name, part in shares(caller, depth + 1).items():
                out[name] += part * entry[2] / total
        memo[func] = dict(out)
        return memo[func]

    totals: dict[str, float] = defaultdict(float)
    for func, entry in raw.items():
        for name, part in shares(func).items():
            totals[name] += part * entry[2]
    return totals


# -- in process --------------------------------------------------------------------------------------


def scope_for(token: str, key: str) -> dict[str, Any]:
    headers = [
        (b"host", b"127.0.0.1"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
        (b"prefer", b"wait=10"),
        (b"idempotency-key", key.encode()),
        (b"content-length", str(len(BODY)).encode()),
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


async def call(app: Any, scope: dict[str, Any]) -> tuple[int, bytes]:
    sent = False
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": BODY, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def drive(app: Any, token: str, count: int, tag: str, profile: cProfile.Profile | None) -> list[float]:
    """``count`` casts one after another; CPU seconds of each."""
    cpu: list[float] = []
    for index in range(count):
        scope = scope_for(token, f"{tag}-{index}")
        if profile is not None:
            profile.enable()
        started = time.process_time()
        status, body = await call(app, scope)
        cpu.append(time.process_time() - started)
        if profile is not None:
            profile.disable()
        if status != 200 or b'"succeeded"' not in body:
            raise SystemExit(f"cast {index}: {status} {body[:300]!r}")
    return cpu


def in_process(token: str, count: int) -> dict[str, Any]:
    """Runs in a child with SPELL_HOME set: the app as ``spell serve`` builds it."""
    import uvloop

    from spell.api.serving import app_from_env

    app = app_from_env()
    orchestrator = app.state.platform.orchestrator
    rerun = orchestrator._run_created
    reruns = [0]

    def counted(*args: Any) -> Any:  # a quick attempt that overran: the cast ran again on a thread
        reruns[0] += 1
        return rerun(*args)

    orchestrator._run_created = counted

    async def main() -> dict[str, Any]:
        async with app.router.lifespan_context(app):
            await drive(app, token, 200, "warm", None)
            reruns[0] = 0
            plain = await drive(app, token, count, "plain", None)
            plain_reruns = reruns[0]
            # the profiler slows an attempt past its budget: the profiled casts would take the thread
            # path, which the unprofiled ones do not
            budget, orchestrator._budget_s = orchestrator._budget_s, 1.0
            app.state.platform.runner._slow.clear()
            profile = cProfile.Profile()
            profiled = await drive(app, token, count, "prof", profile)
            orchestrator._budget_s = budget
        stats = pstats.Stats(profile)
        layers = by_layer(stats)
        top = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:25]  # type: ignore[attr-defined]
        return {
            "cpu_ms": statistics.median(plain) * 1000,
            "cpu_ms_mean": statistics.fmean(plain) * 1000,
            "reruns": plain_reruns,
            "profiled_ms": statistics.fmean(profiled) * 1000,
            "layers": {name: seconds / count * 1000 for name, seconds in layers.items()},
            "top": [(f"{Path(f[0]).name}:{f[1]}:{f[2]}", v[2] / count * 1000, v[1] / count) for f, v in top],
        }

    return uvloop.run(main())


HELLO_IN_PROCESS = """
import asyncio, json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import http_profile
from fastapi import FastAPI
app = FastAPI()
@app.post("/hello")
async def hello(body: dict) -> dict:
    return {"greeting": "hello", "input": body.get("input")}
http_profile.PATH = "/hello"
async def main():
    cpu = []
    for index in range(int(sys.argv[2])):
        started = time.process_time()
        status, _ = await http_profile.call(app, http_profile.scope_for("x", str(index)))
        cpu.append(time.process_time() - started)
        assert status == 200
    return statistics.median(cpu[200:]) * 1000
import uvloop
print(json.dumps(uvloop.run(main())))
"""


# -- over a socket -----------------------------------------------------------------------------------


def socket_cpu(port: int, pid: int, token: str | None, count: int) -> tuple[float, float]:
    """Server CPU ms per request and median wall ms, ``count`` sequential keep-alive requests."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    path = PATH if token else "/hello"

    def one(index: int) -> float:
        headers = {"Content-Type": "application/json"}
        if token:
            headers |= {
                "Authorization": f"Bearer {token}",
                "Prefer": "wait=10",
                "Idempotency-Key": f"s-{index}",
            }
        started = time.perf_counter()
        conn.request("POST", path, body=BODY, headers=headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200 or (token and b'"succeeded"' not in body):
            raise SystemExit(f"socket request {index}: {response.status} {body[:300]!r}")
        return time.perf_counter() - started

    for index in range(200):
        one(-index - 1)
    before = api_bench.tree_cpu_seconds(pid)
    walls = [one(index) for index in range(count)]
    cpu = api_bench.tree_cpu_seconds(pid) - before
    conn.close()
    return cpu * 1000 / count, statistics.median(walls) * 1000


def serve_spell(env: dict[str, str], server: str) -> tuple[subprocess.Popen[bytes], int]:
    port = api_bench.free_port()
    command = [sys.executable, "-c", "from spell.cli.app import main; main()", "serve", "--port", str(port)]
    if server != "uvicorn":
        command += ["--server", server]
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    api_bench.wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
    return proc, port


def serve_hello() -> tuple[subprocess.Popen[bytes], int]:
    port = api_bench.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", api_bench.HELLO_APP, str(port)], cwd=ROOT, stderr=subprocess.DEVNULL
    )
    api_bench.wait_ready(f"http://127.0.0.1:{port}/docs", proc)
    return proc, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--casts", type=int, default=2000)
    parser.add_argument("--server", default="uvicorn", help="the ASGI server of `spell serve --server`")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(in_process(args.child, args.casts)))
        return
    created: list[str] = []
    with tempfile.TemporaryDirectory() as home, contextlib.ExitStack() as stack:
        url = api_bench.postgres_database(created) if args.database == "postgresql" else None
        stack.callback(api_bench.drop_databases, created)
        env, token = api_bench.seed(Path(home) / "home", ROOT / "src", url)
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        load = os.getloadavg()[0]
        print(f"http_profile: {args.casts} sequential casts on {args.database}, {when}, load {load:.2f}")
        child = subprocess.run(
            [sys.executable, __file__, "--child", token, "--casts", str(args.casts)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:
            raise SystemExit(child.stderr)
        got = json.loads(child.stdout.strip().splitlines()[-1])
        hello_in = json.loads(
            subprocess.run(
                [sys.executable, "-c", HELLO_IN_PROCESS, str(Path(__file__).parent), str(args.casts + 200)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
            ).stdout
        )
        proc, port = serve_spell(env, args.server)
        try:
            spell_socket, spell_wall = socket_cpu(port, proc.pid, token, args.casts)
        finally:
            stop(proc)
        proc, port = serve_hello()
        try:
            hello_socket, hello_wall = socket_cpu(port, proc.pid, None, args.casts)
        finally:
            stop(proc)
    print(f"load average after: {os.getloadavg()[0]:.2f}\n")
    print("| measure (sequential, CPU ms per request) | spell cast | bare FastAPI hello |")
    print("| --- | ---: | ---: |")
    print(f"| in process, ASGI call, no profiler (median) | {got['cpu_ms']:.3f} | {hello_in:.3f} |")
    print(f"| over a socket, server process CPU (mean) | {spell_socket:.3f} | {hello_socket:.3f} |")
    print(
        f"| ASGI server and HTTP parsing (socket minus in process) | {spell_socket - got['cpu_ms_mean']:.3f} "
        f"| {hello_socket - hello_in:.3f} |"
    )
    print(f"| over a socket, median wall ms | {spell_wall:.3f} | {hello_wall:.3f} |")
    print(f"\n(in process, {got['reruns']} of {args.casts} quick attempts overran and ran again on a thread)")
    scale = got["cpu_ms_mean"] / got["profiled_ms"]
    print(
        f"\nIn-process cast CPU by layer (cProfile own time, scaled by {scale:.2f} to the unprofiled "
        f"{got['cpu_ms_mean']:.3f} ms mean; plus the server layer from the socket run):\n"
    )
    print("| layer | CPU ms per cast | share of socket CPU |")
    print("| --- | ---: | ---: |")
    rows = sorted(got["layers"].items(), key=lambda kv: -kv[1])
    server_ms = spell_socket - got["cpu_ms_mean"]
    print(
        f"| ASGI server and HTTP parsing (uvicorn/httptools, from the socket run) | {server_ms:.3f} "
        f"| {server_ms / spell_socket:.0%} |"
    )
    for name, ms in rows:
        print(f"| {name} | {ms * scale:.3f} | {ms * scale / spell_socket:.0%} |")
    print("\nTop functions by own time (profiled ms per cast, calls per cast):\n")
    for name, ms, calls in got["top"]:
        print(f"  {ms:7.3f}  {calls:6.1f}  {name}")


if __name__ == "__main__":
    main()
