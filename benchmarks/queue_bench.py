"""Queued casts, POST → terminal, one after another, against inline casts in the same run.

Starts ``spell serve`` (one process, SQLite embedded default in a temp SPELL_HOME, the example
``samples/hello-wasm`` spell; as ``benchmarks/api_bench.py``) once per queue — the in-process queue,
then NATS JetStream (``SPELL_QUEUE_URL``, default the local broker, a stream of its own per server,
deleted at the end) — and per tree (with ``--baseline-src``, that checkout first). Against each it
sends casts one after another from one keep-alive httpx connection, the modes interleaved so a slow
moment of the machine hits them alike:

- ``inline``: ``POST …/cast`` with ``Prefer: wait=10``; one request, 200 with the ended cast.
- ``queued, ?wait``: ``POST …/cast`` without ``Prefer`` (202, queued), then ``GET /v1/casts/{id}?wait=10``
  (a long poll answered when the cast ended): the fastest documented way to follow a queued cast.
- ``queued, events``: the same POST, then ``GET /v1/casts/{id}/events`` (SSE) read to the terminal
  event, then ``GET /v1/casts/{id}``: what ``spell.client.Client.cast(wait=True)`` does.

Every cast has a fresh Idempotency-Key and must end ``succeeded``. Each round prints the median and
p90 of every mode and whether the fastest queued way met the target (≤ inline median + 3 ms).

``--profile`` runs the server with timing hooks instead (time stamps on ``CLOCK_MONOTONIC``, which
client and server share) and prints where a queued cast's time goes, stage by stage, plus database
statements and commits per cast of each mode.

    .venv/bin/python benchmarks/queue_bench.py [--casts 100] [--rounds 3] [--repeat 1]
                                               [--queues memory,nats] [--baseline-src PATH] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from api_bench import free_port, seed, tree_cpu_seconds, wait_ready

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
NATS_URL = os.environ.get("SPELL_BENCH_NATS_URL", "nats://127.0.0.1:4222")
TARGET_MS = 3.0
BODY = {"input": {"name": "world"}}

SERVE = "from spell.cli.app import main; main()"

# Loaded into the server process before it starts (``--profile``): wraps the functions a queued cast
# goes through and records (stage, cast id, perf_counter) rows, written to $QUEUE_BENCH_STAMPS at exit;
# counts the database's statements and commits too. Functions a tree lacks are skipped.
HOOKS = r"""
import functools, json, os, threading, time
from spell.platform.cast import hub as hub_mod, orchestrator as orch_mod, runner as runner_mod
from spell.platform.cast import service as service_mod
import spell.storage.engine as engine_mod
from sqlalchemy import event

STAMPS = []
COUNTS = {"statements": 0, "commits": 0}
now = time.perf_counter


def stamp(stage, cast_id):
    STAMPS.append((stage, cast_id, now()))


def cast_of(result):
    cast = result[0] if isinstance(result, tuple) else result
    return getattr(getattr(cast, "cast", cast), "id", None)


def wrap(owner, name, before=None, after=None):
    fn = getattr(owner, name, None)
    if fn is None:
        return
    if isinstance(fn, staticmethod):
        return

    if asyncio_fn(fn):
        @functools.wraps(fn)
        async def awrapper(*args, **kwargs):
            if before:
                before(*args, **kwargs)
            result = await fn(*args, **kwargs)
            if after:
                after(result, *args, **kwargs)
            return result
        setattr(owner, name, awrapper)
        return

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if before:
            before(*args, **kwargs)
        result = fn(*args, **kwargs)
        if after:
            after(result, *args, **kwargs)
        return result
    setattr(owner, name, wrapper)


def asyncio_fn(fn):
    import inspect
    return inspect.iscoroutinefunction(fn)


wrap(service_mod.CastService, "create", after=lambda r, *a, **k: stamp("created (committed)", cast_of(r)))
from spell.queue import memory as memory_mod
wrap(memory_mod.MemoryQueue, "publish",
     before=lambda self, job: stamp("publish start", job.payload.get("cast_id")),
     after=lambda r, self, job: stamp("published", job.payload.get("cast_id")))
try:
    from spell.queue import nats as nats_mod
    wrap(nats_mod.NatsQueue, "publish",
         before=lambda self, job: stamp("publish start", job.payload.get("cast_id")),
         after=lambda r, self, job: stamp("published", job.payload.get("cast_id")))
except ImportError:
    pass
wrap(runner_mod.CastRunner, "__call__",
     before=lambda self, job: stamp("worker got job", job.payload.get("cast_id")))
wrap(runner_mod.CastRunner, "_claim",
     before=lambda self, cast_id, *a, **k: stamp("claim start", cast_id),
     after=lambda r, self, cast_id, *a, **k: stamp("claimed (committed)", cast_id))
wrap(runner_mod.CastRunner, "_run",
     before=lambda self, cast, *a, **k: stamp("run start", cast.id),
     after=lambda r, self, cast, *a, **k: stamp("run done", cast.id))
wrap(runner_mod.CastRunner, "attempt",
     before=lambda self, uow, cast, *a, **k: stamp("quick attempt start", cast.id),
     after=lambda r, self, uow, cast, *a, **k: stamp(
         "quick attempt done" if r else "quick attempt gave up", cast.id))
wrap(runner_mod.CastRunner, "_finish",
     after=lambda r, self, cast, *a, **k: stamp("end recorded (committed)", cast.id))
wrap(hub_mod.CastHub, "notify",
     before=lambda self, cast_id, terminal=True, **k: stamp(
         "hub notify" if terminal else "hub notify running", cast_id))
wrap(orch_mod.CastOrchestrator, "wait_for_end",
     before=lambda self, principal, cast_id, *a, **k: stamp("long poll start", cast_id),
     after=lambda r, self, principal, cast_id, *a, **k: stamp("long poll answered", cast_id))

_make = engine_mod.make_engine


def make_engine(*args, **kwargs):
    engine = _make(*args, **kwargs)

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(*_a, **_k):
        COUNTS["statements"] += 1

    @event.listens_for(engine, "commit")
    def _commit(*_a, **_k):
        COUNTS["commits"] += 1

    return engine


engine_mod.make_engine = make_engine
import spell.storage.session as session_mod
if getattr(session_mod, "make_engine", None) is _make:
    session_mod.make_engine = make_engine
import spell.platform.server as server_mod
if getattr(server_mod, "make_engine", None) is _make:
    server_mod.make_engine = make_engine


import uvicorn
_uvicorn_run = uvicorn.run


def _stamped(app):
    async def asgi(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        tag = dict(scope["headers"]).get(b"x-bench-tag", b"").decode() or None
        what = f"{scope['method']} {'events' if scope['path'].endswith('/events') else ''}".strip()
        stamp(f"server: {what} in", tag)

        async def sending(message):
            if message["type"] == "http.response.start":
                stamp(f"server: {what} answer starts", tag)
            await send(message)

        return await app(scope, receive, sending)

    return asgi


uvicorn.run = lambda app, *a, **k: _uvicorn_run(_stamped(app), *a, **k)

import signal
def _dump(*_):
    path = os.environ["QUEUE_BENCH_STAMPS"]
    with open(path + ".tmp", "w") as out:
        json.dump({**COUNTS, "stamps": list(STAMPS)}, out)
    os.replace(path + ".tmp", path)
signal.signal(signal.SIGUSR1, _dump)
"""


# the client ---------------------------------------------------------------------------------------
class Caster:
    """One keep-alive connection to a server, casting hello-wasm in each mode."""

    def __init__(self, base: str, token: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
        self.url = "/v1/spells/samples/hello-wasm/cast"
        self.marks: list[tuple[str, str, float]] = []  # (stage, tag, perf_counter) when profiling
        self.tags: dict[str, str] = {}  # tag → cast id
        self.modes: dict[str, str] = {}  # cast id → how it was followed
        self.tag = ""

    def close(self) -> None:
        self.client.close()

    def _post(self, prefer: str | None) -> httpx.Response:
        self.tag = uuid.uuid4().hex
        headers = {"Idempotency-Key": self.tag, "X-Bench-Tag": self.tag}
        if prefer:
            headers["Prefer"] = prefer
        return self.client.post(self.url, json=BODY, headers=headers)

    def _mark(self, stage: str, at: float | None = None) -> None:
        self.marks.append((stage, self.tag, time.perf_counter() if at is None else at))

    def inline(self) -> None:
        response = self._post("wait=10")
        _require(response.status_code == 200 and response.json()["status"] == "succeeded", response)

    def queued_wait(self) -> None:
        started = time.perf_counter()
        response = self._post(None)
        _require(response.status_code == 202, response)
        cast_id = response.json()["id"]
        self.tags[self.tag], self.modes[cast_id] = cast_id, "GET ?wait"
        self._mark("client: POST sent", started)
        self._mark("client: 202 read")
        headers = {"X-Bench-Tag": self.tag}
        got = self.client.get(f"/v1/casts/{cast_id}", params={"wait": 10}, headers=headers)
        self._mark("client: ended cast read")
        _require(got.status_code == 200 and got.json()["status"] == "succeeded", got)

    def queued_events(self) -> None:
        started = time.perf_counter()
        response = self._post(None)
        _require(response.status_code == 202, response)
        cast_id = response.json()["id"]
        self.tags[self.tag], self.modes[cast_id] = cast_id, "SSE events + GET"
        self._mark("client: POST sent", started)
        self._mark("client: 202 read")
        terminal = None
        headers = {"X-Bench-Tag": self.tag}
        with self.client.stream("GET", f"/v1/casts/{cast_id}/events", headers=headers) as stream:
            for line in stream.iter_lines():
                if line.startswith("event: ") and line[7:] not in ("queued", "running", "progress", "log"):
                    terminal = line[7:]
        self._mark("client: terminal event read")
        got = self.client.get(f"/v1/casts/{cast_id}", headers={"X-Bench-Tag": self.tag + "-2"})
        self._mark("client: ended cast read")
        _require(terminal == "succeeded" and got.json()["status"] == "succeeded", got)


def _require(ok: bool, response: httpx.Response) -> None:
    if not ok:
        raise SystemExit(f"queue_bench: unexpected answer {response.status_code}: {response.text[:300]}")


MODES: dict[str, Callable[[Caster], None]] = {
    "inline (Prefer: wait)": Caster.inline,
    "queued, then GET ?wait": Caster.queued_wait,
    "queued, then SSE events + GET (the SDK)": Caster.queued_events,
}


def timed_round(caster: Caster, casts: int) -> dict[str, list[float]]:
    """``casts`` of each mode, interleaved; milliseconds per cast."""
    times: dict[str, list[float]] = {name: [] for name in MODES}
    for _ in range(casts):
        for name, mode in MODES.items():
            started = time.perf_counter()
            mode(caster)
            times[name].append((time.perf_counter() - started) * 1000)
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


# servers ------------------------------------------------------------------------------------------
@contextmanager
def server(env: dict[str, str], *, hooks: bool = False) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    code = (HOOKS + "\n" + SERVE) if hooks else SERVE
    proc = subprocess.Popen(
        [PY, "-c", code, "serve", "--port", str(port), "--processes", "1"],
        env=env,
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def queue_env(env: dict[str, str], queue: str, names: list[str]) -> dict[str, str]:
    if queue == "memory":
        return env
    name = f"qb{uuid.uuid4().hex[:10]}"
    names.append(name)
    return {**env, "SPELL_QUEUE_URL": NATS_URL, "SPELL_SERVER_QUEUE_NAME": name}


def delete_streams(names: list[str]) -> None:
    """Remove the streams (and their consumers) the NATS servers of this run made."""
    if not names:
        return

    async def delete() -> None:
        import nats

        connection = await nats.connect(NATS_URL)
        try:
            jetstream = connection.jetstream()
            for name in names:
                try:
                    await jetstream.delete_stream(f"{name.upper()}_JOBS")
                except Exception as exc:  # a stream never made (the server failed first)
                    print(f"queue_bench: stream {name.upper()}_JOBS not deleted: {exc}", file=sys.stderr)
        finally:
            await connection.close()

    asyncio.run(delete())


def measure(args: argparse.Namespace, trees: list[tuple[str, Path]], queues: list[str]) -> None:
    names: list[str] = []
    met: dict[str, list[bool]] = {}
    print(
        f"queue_bench: {args.casts} casts of each mode per round, {args.rounds} rounds per server, "
        f"{args.repeat} run(s) alternating the trees, one keep-alive connection, sequential; "
        f"load average {os.getloadavg()[0]:.2f}\n"
    )
    print(
        "| tree, queue | run.round | mode | median ms | p10 ms | p90 ms | over inline, median ms "
        "| over inline, p10 ms | load |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    try:
        with tempfile.TemporaryDirectory() as scratch:
            seeded = {
                (queue, index): seed(Path(scratch) / f"{queue}-{index}", src)
                for queue in queues
                for index, (_label, src) in enumerate(trees)
            }
            envs = {key: (queue_env(env, key[0], names), token) for key, (env, token) in seeded.items()}
            for run in range(1, args.repeat + 1):
                for queue in queues:
                    for index, (label, _src) in enumerate(trees):
                        env, token = envs[(queue, index)]
                        tag = f"{label or 'this tree'}, {queue}"
                        met.setdefault(tag, []).extend(serve_rounds(args, env, token, tag, run))
    finally:
        delete_streams(names)
    print(f"\n| tree, queue | rounds where the fastest queued way ≤ inline + {TARGET_MS:.0f} ms |")
    print("| --- | ---: |")
    for tag, results in met.items():
        print(f"| {tag} | {sum(results)} of {len(results)} |")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def serve_rounds(args: argparse.Namespace, env: dict[str, str], token: str, tag: str, run: int) -> list[bool]:
    """Start a server and time ``args.rounds`` rounds; per round, whether the target was met."""
    met = []
    with server(env) as (base, _proc):
        caster = Caster(base, token)
        try:
            timed_round(caster, 20)  # warm-up: modules loaded, connections made
            for number in range(1, args.rounds + 1):
                times = timed_round(caster, args.casts)
                load = os.getloadavg()[0]
                inline = statistics.median(times["inline (Prefer: wait)"])
                inline_p10 = percentile(times["inline (Prefer: wait)"], 0.1)
                for name, values in times.items():
                    median, fast = statistics.median(values), percentile(values, 0.1)
                    first = name.startswith("inline")
                    over = "| | |" if first else f"| {median - inline:+.2f} | {fast - inline_p10:+.2f} |"
                    print(
                        f"| {tag} | {run}.{number} | {name} | {median:.2f} | {fast:.2f} "
                        f"| {percentile(values, 0.9):.2f} {over} {load:.1f} |",
                        flush=True,
                    )
                best = min(statistics.median(v) for n, v in times.items() if not n.startswith("inline"))
                met.append(best <= inline + TARGET_MS)
        finally:
            caster.close()
    return met


# the profile --------------------------------------------------------------------------------------
def profile(args: argparse.Namespace, trees: list[tuple[str, Path]], queues: list[str]) -> None:
    names: list[str] = []
    print(f"queue_bench --profile: {args.casts} casts per mode; load average {os.getloadavg()[0]:.2f}")
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for queue in queues:
                for index, (label, src) in enumerate(trees):
                    env, token = seed(Path(scratch) / f"p-{queue}-{index}", src)
                    stamps_file = Path(scratch) / f"stamps-{queue}-{index}.json"
                    env = {**queue_env(env, queue, names), "QUEUE_BENCH_STAMPS": str(stamps_file)}
                    counts: dict[str, dict[str, float]] = {}
                    with server(env, hooks=True) as (base, proc):
                        caster = Caster(base, token)
                        try:
                            timed_round(caster, 20)
                            caster.marks.clear()
                            caster.tags.clear()
                            caster.modes.clear()
                            for name, mode in MODES.items():
                                before = _counts(proc, stamps_file)
                                cpu = tree_cpu_seconds(proc.pid)
                                for _ in range(args.casts):
                                    mode(caster)
                                cpu = tree_cpu_seconds(proc.pid) - cpu
                                after = _counts(proc, stamps_file)
                                counts[name] = {
                                    k: (after[k] - before[k]) / args.casts for k in ("statements", "commits")
                                }
                                counts[name]["cpu_ms"] = cpu * 1000 / args.casts
                            stamps = _counts(proc, stamps_file)["stamps"]
                        finally:
                            caster.close()
                    _print_profile(
                        f"{label or 'this tree'}, {queue}",
                        stamps + caster.marks,
                        caster.tags,
                        caster.modes,
                        counts,
                    )
    finally:
        delete_streams(names)


def _counts(proc: subprocess.Popen[bytes], stamps_file: Path) -> dict[str, Any]:
    target = stamps_file
    target.unlink(missing_ok=True)
    proc.send_signal(10)  # SIGUSR1: the hooks write their counts
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if target.exists() and target.stat().st_size:
            try:
                return dict(json.loads(target.read_text()))
            except json.JSONDecodeError:
                pass
        time.sleep(0.01)
    raise SystemExit("queue_bench: the server wrote no statement counts")


def _print_profile(
    tag: str,
    stamps: list[list[Any]],
    tags: dict[str, str],
    modes: dict[str, str],
    counts: dict[str, dict[str, float]],
) -> None:
    """Per follow mode: each stage's median time after the client sent the POST, in order."""
    by_cast: dict[str, dict[str, float]] = {}
    for stage, key, at in stamps:
        if key is None:
            continue
        cast_id = tags.get(str(key).removesuffix("-2"), str(key))
        by_cast.setdefault(cast_id, {}).setdefault(str(stage), float(at))
    for follow in ("GET ?wait", "SSE events + GET"):
        rows = [
            stages
            for cast_id, stages in by_cast.items()
            if modes.get(cast_id) == follow and "client: POST sent" in stages
        ]
        if not rows:
            continue
        names = {stage for row in rows for stage in row if sum(stage in r for r in rows) >= len(rows) * 0.9}
        rows = [row for row in rows if names <= row.keys()]
        since = {
            stage: statistics.median(row[stage] - row["client: POST sent"] for row in rows) * 1000
            for stage in names
        }
        tried = sum("quick attempt start" in row for row in rows)
        done = sum("quick attempt done" in row for row in rows)
        print(
            f"\n{tag}, queued then {follow}: {len(rows)} casts; the worker claimed, ran and ended "
            f"{done} in one transaction ({tried} tried)\n"
        )
        print("| stage | after POST sent, median ms | step ms |")
        print("| --- | ---: | ---: |")
        previous = 0.0
        for stage in sorted(names, key=since.__getitem__):
            print(f"| {stage} | {since[stage]:.2f} | {since[stage] - previous:+.2f} |")
            previous = since[stage]
    gave_up = sum(stage == "quick attempt gave up" for stage, _key, _at in stamps)
    tried = sum(stage == "quick attempt start" for stage, _key, _at in stamps)
    print(f"\n{tag}: quick attempts over the whole run, warm-up included: {tried}, {gave_up} gave up")
    print(f"\n{tag}: per cast, whole server (all threads; CPU with the timing hooks on)\n")
    print("| mode | statements | commits | server CPU ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, got in counts.items():
        print(f"| {name} | {got['statements']:.1f} | {got['commits']:.1f} | {got['cpu_ms']:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--casts", type=int, default=100, help="casts of each mode per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server start")
    parser.add_argument("--repeat", type=int, default=1, help="runs, each starting every server again")
    parser.add_argument("--queues", default="memory,nats", help="comma-separated: memory, nats")
    parser.add_argument(
        "--baseline-src", help="another checkout (e.g. a git worktree of main) measured in the same run"
    )
    parser.add_argument("--profile", action="store_true", help="where a queued cast's time goes")
    args = parser.parse_args()
    queues = [part.strip() for part in args.queues.split(",") if part.strip()]
    if not queues or set(queues) - {"memory", "nats"}:
        parser.error("--queues takes memory, nats or both")
    trees = [("", ROOT / "src")]
    if args.baseline_src:
        trees.insert(0, ("baseline", Path(args.baseline_src).resolve() / "src"))
    (profile if args.profile else measure)(args, trees, queues)


if __name__ == "__main__":
    main()
