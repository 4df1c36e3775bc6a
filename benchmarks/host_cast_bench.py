"""Sync casts of a one-step ``sh`` host spell over HTTP against a live ``spell serve``, with a baseline
checkout measured in the same run.

Each tree (``--baseline-src`` first, then this checkout) gets its own SPELL_HOME on the embedded
default database (SQLite), host steps enabled in the server's default sandbox (bubblewrap), and the
signed one-step host spell of ``_scratch.host_hello_bundle`` published as ``samples/host-hello``
(signed with the examples' demo key, ``examples/keys``). Both servers run side by side; the rounds
alternate between them (baseline, this tree, baseline, …) so a busy moment of the shared machine hits
both alike. Every request is a real cast: ``Prefer: wait=10`` and a fresh Idempotency-Key, counted
only when it answers 200 with a succeeded cast.

For each concurrency it prints the median round (median latency, casts/s, the server's CPU per cast)
and, per tree, how many rounds met the target: median <= ``--target-ms`` at concurrency 1 and
casts/s >= ``--target-rate`` at the highest concurrency.

    .venv/bin/python benchmarks/host_cast_bench.py [--baseline-src DIR] [--seconds 3] [--rounds 5]
                                                   [--concurrency 1,8] [--load wrk|httpx]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from _scratch import host_hello_bundle
from api_bench import BENCH_SETTINGS, PY, ROOT, Round, free_port, measure, row, wait_ready

SPELL_ID = "samples/host-hello"
KEYS = ROOT / "examples" / "keys"

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
key = Path(sys.argv[2]).read_text().strip()
seed = seed_demo(platform, Path(sys.argv[1]), publisher="samples", key_id="demo", public_key=key)
platform.stop()
if seed.skipped:
    raise SystemExit(f"not published: {seed.skipped}")
print(seed.token)
"""

# One cast in process, in a server-sized process (the platform built as ``spell serve`` builds it):
# CPU of this process and of its children (setpriv, prlimit, bwrap, sh) per cast, and the median wall.
STAGES = """
import os, resource, statistics, sys, time
from pathlib import Path
from spell.bundle.loaders import load_manifest
from spell.config.server import ServerSettings
from spell.platform.cast.service import CastRequestBody
from spell.platform.server import Platform, default_runtimes
from spell.runtimes.base import CastRequest

token, bundle, count, spell, label = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:6]
settings = ServerSettings.from_env()
runtimes = default_runtimes(settings)
platform = Platform.build(settings, runtimes=runtimes)
with platform.db.unit_of_work(write=False) as uow:
    principal = platform.auth.authenticate_key(uow, token)
body = CastRequestBody(spell_id=spell, input={})
request = CastRequest(bundle_dir=bundle, manifest=load_manifest(bundle), input={})
casting = platform.orchestrator
casting.cast_now(principal, body, "stage-warm-up")


def stage(name, run):
    walls = []
    own, children = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    for index in range(count):
        started = time.perf_counter()
        run(index)
        walls.append(time.perf_counter() - started)
    own = (time.process_time() - own) / count * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime) / count * 1000
    print(f"| {name}{label} | {own:.2f} | {child:.2f} | {statistics.median(walls) * 1000:.2f} |")


stage("host runtime: workspace, sandboxed `sh`, clean-up", lambda _i: runtimes["host"].run(request))
stage("cast_now: admit, create, run, record (no HTTP)", lambda i: casting.cast_now(principal, body, f"s{i}"))
platform.stop()
"""

SIGN = """
import sys
from pathlib import Path
from spell.signing.keys import load_private_key
from spell.signing.signature import sign_bundle
sign_bundle(Path(sys.argv[1]), load_private_key(Path(sys.argv[2])), key_id="demo")
"""


def host_spell(root: Path) -> Path:
    """The one-step ``sh`` spell as ``samples/host-hello`` in ``root/spells/hello``, signed."""
    bundle = host_hello_bundle(root / "spells")
    manifest = bundle / "spell.yaml"
    manifest.write_text(manifest.read_text().replace("id: bench/hello", f"id: {SPELL_ID}"))
    (bundle / "sbom.cdx.json").write_text(
        '{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": []}\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run(
        [PY, "-c", SIGN, str(bundle), str(KEYS / "samples__demo.private.pem")], env=env, check=True
    )
    return bundle


def seed(home: Path, src: Path, spells: Path) -> tuple[dict[str, str], str]:
    """A SPELL_HOME seeded by the code under ``src`` with the host spell: its environment and a key."""
    env = {
        **os.environ,
        "SPELL_HOME": str(home),
        "PYTHONPATH": str(src),
        "SPELL_SERVER_ALLOW_HOST_RUNTIME": "true",
        **BENCH_SETTINGS,
    }
    env.pop("SPELL_DATABASE_URL", None)
    seeded = subprocess.run(
        [PY, "-c", SEED, str(spells), str(KEYS / "samples__demo.public.b64url.txt")],
        env=env,
        cwd=src.parent,
        capture_output=True,
        text=True,
    )
    if seeded.returncode != 0:
        raise SystemExit(f"host_cast_bench: seeding {src} failed:\n{seeded.stderr}{seeded.stdout}")
    return env, seeded.stdout.strip().splitlines()[-1]


def stage_table(label: str, env: dict[str, str], token: str, bundle: Path, count: int) -> None:
    out = subprocess.run(
        [PY, "-c", STAGES, token, str(bundle), str(count), SPELL_ID, label],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"host_cast_bench: the in-process run failed:\n{out.stderr}")
    print(out.stdout.rstrip())


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    serve_argv = ["serve", "--port", str(port), "--processes", "1"]
    server = subprocess.Popen(
        [PY, "-c", "from spell.cli.app import main; main()", *serve_argv],
        env=env,
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(f"http://127.0.0.1:{port}/healthz", server)
    return server, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--load", choices=["wrk", "httpx"], default="wrk" if shutil.which("wrk") else "httpx")
    parser.add_argument("--baseline-src", help="another checkout measured in the same run")
    parser.add_argument("--target-ms", type=float, default=8.0)
    parser.add_argument("--target-rate", type=float, default=150.0)
    parser.add_argument("--casts", type=int, default=100, help="casts per in-process stage (0: none)")
    args = parser.parse_args()
    levels = [int(part) for part in args.concurrency.split(",")]
    trees = [("", ROOT / "src")]
    if args.baseline_src:
        trees.insert(0, (" (baseline)", Path(args.baseline_src).resolve() / "src"))
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        spells = host_spell(scratch).parent
        servers: list[tuple[str, subprocess.Popen[bytes], str, dict[str, str]]] = []
        seeded = []
        try:
            for index, (label, src) in enumerate(trees):
                env, token = seed(scratch / f"home{index}", src, spells)
                seeded.append((label, env, token))
                server, port = serve(env)
                url = f"http://127.0.0.1:{port}/v1/spells/{SPELL_ID}/cast"
                headers = {"Authorization": f"Bearer {token}", "Prefer": "wait=10"}
                servers.append((label, server, url, headers))
                measure(args.load, url, headers, 8, 2, server.pid, cast=True, scratch=scratch)  # warm-up
            run(args, levels, servers, scratch)
        finally:
            for _label, server, _url, _headers in servers:
                server.terminate()
                server.wait(timeout=20)
        if args.casts:
            print("\n| one cast in process | own CPU ms | children's CPU ms | median wall ms |")
            print("| --- | ---: | ---: | ---: |")
            for label, env, token in seeded:
                stage_table(label, env, token, spells / "hello", args.casts)
            print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def run(
    args: argparse.Namespace,
    levels: list[int],
    servers: list[tuple[str, subprocess.Popen[bytes], str, dict[str, str]]],
    scratch: Path,
) -> None:
    """Alternate the trees round by round; print the median round per tree and level."""
    print(
        f"host_cast_bench: load from {args.load}, {args.seconds} s per round, {args.rounds} rounds, "
        f"one server process per tree, SQLite, bubblewrap sandbox; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
    )
    got: dict[tuple[str, int], list[Round]] = {
        (label, level): [] for label, *_ in servers for level in levels
    }
    for _ in range(args.rounds):
        for level in levels:
            for label, server, url, headers in servers:
                got[(label, level)].append(
                    measure(
                        args.load, url, headers, level, args.seconds, server.pid, cast=True, scratch=scratch
                    )
                )
    print(
        "| target | concurrency | requests | median ms | p99 ms | casts/s | casts/s over rounds "
        "| server CPU ms/cast | failed |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, *_ in servers:
        for level in levels:
            print(row(f"sync host cast, one `sh` step{label}", level, got[(label, level)]))
    low, high = levels[0], levels[-1]
    print(
        f"\n| tree | rounds with median <= {args.target_ms:g} ms at c={low} "
        f"| with >= {args.target_rate:g} casts/s at c={high} | both |"
    )
    print("| --- | ---: | ---: | ---: |")
    for label, *_ in servers:
        fast = [r.median_ms <= args.target_ms for r in got[(label, low)]]
        many = [r.rate >= args.target_rate for r in got[(label, high)]]
        both = sum(a and b for a, b in zip(fast, many, strict=True))
        name = "baseline" if label else "this tree"
        print(f"| {name} | {sum(fast)}/{len(fast)} | {sum(many)}/{len(many)} | {both}/{len(fast)} |")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
