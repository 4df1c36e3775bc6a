"""Queue overhead per cast on NATS JetStream: a queued cast's job published → the cast claimed
(``queued → running`` committed in the database), on PostgreSQL.

Seeds a fresh PostgreSQL database (as ``api_bench.py`` does), builds the platform in process with
``SPELL_QUEUE_URL`` (a stream of its own on the local broker, removed at the end) and its workers, then
creates ``--casts`` queued casts of ``samples/hello-wasm`` one after another, each only once the one
before it was claimed, so the figure is the path's latency, not time spent waiting behind other jobs.
For each cast it records when its job is handed to the broker (after the creating commit) and when the
worker's claim committed; it prints the median, p90 and p99 of that span, and for comparison the broker's
own part (publish → the worker's handler starts).

    .venv/bin/python benchmarks/queue_claim_bench.py [--casts 300] [--nats nats://127.0.0.1:4222]
                                                     [--baseline-src <another checkout>]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_bench import ROOT, drop_databases, postgres_database, seed

PY = sys.executable

MEASURE = r"""
import json, statistics, sys, threading, time
from spell.config.server import ServerSettings
from spell.platform.cast.service import CastRequestBody
from spell.platform.server import Platform

token, count = sys.argv[1], int(sys.argv[2])
platform = Platform.build(ServerSettings.from_env())
queue, runner = platform.queue, platform.runner
published, handled, claimed = {}, {}, {}
done = threading.Condition()

_publish = queue.publish
def publish(job):
    published[job.id] = time.perf_counter()
    _publish(job)
queue.publish = publish

_handle = runner._handle
def handle(cast_id, job):
    handled[cast_id] = time.perf_counter()
    return _handle(cast_id, job)
runner._handle = handle

_claim = runner._claim
# A quick-fit cast may be claimed, run and ended in one commit; measured here is the claim alone.
runner.quick_jobs = False
def claim(cast_id, **options):
    got = _claim(cast_id, **options)  # returns once the claim committed
    with done:
        claimed[cast_id] = time.perf_counter()
        done.notify_all()
    return got
runner._claim = claim

platform.start(recover=False)
try:
    with platform.db.unit_of_work(write=False) as uow:
        principal = platform.auth.authenticate_key(uow, token)
    body = CastRequestBody(spell_id="samples/hello-wasm", input={"name": "q"})
    run = str(time.time_ns())
    spans, broker = [], []
    for index in range(20 + count):
        cast, _ = platform.casts.create(principal, body, f"q-{run}-{index}")
        with done:
            if not done.wait_for(lambda: cast.id in claimed, timeout=30):
                raise SystemExit(f"cast {cast.id} was not claimed within 30 s")
        if index >= 20:  # the first ones warm the worker's connections and caches
            spans.append(claimed[cast.id] - published[cast.id])
            broker.append(handled[cast.id] - published[cast.id])
        time.sleep(0.005)  # the previous cast's run ends off the measured path
finally:
    platform.stop()

def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

def summary(values):
    return {"median": statistics.median(values) * 1000, "p90": pct(values, 0.9), "p99": pct(values, 0.99)}

print(json.dumps({"claimed_ms": summary(spans), "broker_ms": summary(broker)}))
"""


def remove_stream(nats_url: str, name: str) -> None:
    """Delete the run's stream (its consumer goes with it) from the broker."""
    script = (
        "import asyncio, nats, sys\n"
        "async def main():\n"
        "    nc = await nats.connect(sys.argv[1])\n"
        "    js = nc.jetstream()\n"
        "    for info in await js.streams_info():\n"
        "        if sys.argv[2] in info.config.name:\n"
        "            await js.delete_stream(info.config.name)\n"
        "    await nc.close()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([PY, "-c", script, nats_url, name], check=False, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--casts", type=int, default=300)
    parser.add_argument("--nats", default=os.environ.get("SPELL_BENCH_NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--baseline-src", help="another checkout measured first, in the same run")
    args = parser.parse_args()
    trees = [("", ROOT / "src")]
    if args.baseline_src:
        trees.insert(0, (" (baseline)", Path(args.baseline_src).resolve() / "src"))
    print(f"NATS JetStream + PostgreSQL, {args.casts} queued casts one after another:\n")
    print("| code | span | median ms | p90 ms | p99 ms |")
    print("| --- | --- | ---: | ---: | ---: |")
    spans = (
        ("published → claimed (claim committed)", "claimed_ms"),
        ("published → handler starts", "broker_ms"),
    )
    for label, src in trees:
        result = measure(args, src)
        for span, key in spans:
            got = result[key]
            print(f"| this{label} | {span} | {got['median']:.2f} | {got['p90']:.2f} | {got['p99']:.2f} |")


def measure(args: argparse.Namespace, src: Path) -> dict[str, dict[str, float]]:
    """One run of ``MEASURE`` with the code under ``src``, on a database and a stream of its own."""
    created: list[str] = []
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as home:
        try:
            env, token = seed(Path(home) / "h", src, postgres_database(created))
            env = {**env, "SPELL_QUEUE_URL": args.nats, "SPELL_SERVER_QUEUE_NAME": name}
            command = [PY, "-c", MEASURE, token, str(args.casts)]
            out = subprocess.run(command, env=env, cwd=src.parent, capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"queue_claim_bench: the run failed:\n{out.stderr[-4000:]}")
            result: dict[str, dict[str, float]] = json.loads(out.stdout.strip().splitlines()[-1])
            return result
        finally:
            remove_stream(args.nats, name)
            if created:
                drop_databases(created)


if __name__ == "__main__":
    main()
