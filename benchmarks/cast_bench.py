"""Local casting speed, each figure next to its baseline from the same run.

    .venv/bin/python benchmarks/cast_bench.py [--runs N] [--casts N]

Rows:
- ``spell cast`` of a signed one-step ``sh`` spell (a new process per run, byte-code caches warm)
  against ``python -c pass`` and ``spell --help``, with two attribution rows: a process that only
  imports the manifest model, and one that imports everything the cast path needs and does nothing;
- the in-process local cast use case (preflight, run, redaction, execution log) and the bare host
  runner (private bundle copy, one ``sh`` process, measured usage), as casts per second, against
  spawning ``/bin/true`` with ``subprocess.run``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _scratch import host_hello_bundle
from _timing import median_and_fastest_ms, user_env
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.bundle.install import install
from spell.bundle.loaders import load_manifest
from spell.bundle.sources import FetchContext
from spell.bundle.store import LocalStore
from spell.config.home import SpellHome
from spell.kit.time import utcnow
from spell.local import CastOptions, LocalContext, Retention, RuntimeChoice, cast_local
from spell.runtimes.base import CastRequest
from spell.runtimes.host import HostRuntime
from spell.signing.keys import public_key_to_b64url
from spell.signing.signature import sign_bundle
from spell.signing.trust import TrustStore

BIN = Path(sys.executable).parent
TARGET_MS = 250.0
_IMPORT_MODEL = "import spell.bundle.manifest"
_IMPORT_CAST = "import spell.cli.app, spell.cli.commands.cast, spell.cli.commands._local_cast"


def _per_second(fn: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return count / (time.perf_counter() - start)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--casts", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = SpellHome(root / "home")
        bundle = host_hello_bundle(root)
        key = Ed25519PrivateKey.generate()
        sign_bundle(bundle, key)
        trust = TrustStore(home.trust)
        trust.add_key("bench", public_key_to_b64url(key.public_key()))
        install(str(bundle), LocalStore(home.spells), FetchContext())
        env = user_env(SPELL_HOME=str(home.root))

        def run(*argv: str) -> None:
            subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)

        cast_argv = (str(BIN / "spell"), "cast", "bench/hello")
        run(*cast_argv)  # warm the byte-code cache
        rows = [
            ("`python -c pass`", median_and_fastest_ms(lambda: run(sys.executable, "-c", "pass"), args.runs)),
            ("`spell --help`", median_and_fastest_ms(lambda: run(str(BIN / "spell"), "--help"), args.runs)),
            (
                "import the manifest model only",
                median_and_fastest_ms(lambda: run(sys.executable, "-c", _IMPORT_MODEL), args.runs),
            ),
            (
                "import everything `spell cast` needs",
                median_and_fastest_ms(lambda: run(sys.executable, "-c", _IMPORT_CAST), args.runs),
            ),
            ("`spell cast` one-step sh spell", median_and_fastest_ms(lambda: run(*cast_argv), args.runs)),
        ]
        ctx = LocalContext(home=home, environ={}, input_max_bytes=65536, now=utcnow())
        retention = Retention(max_files=50)
        choice = RuntimeChoice()

        def use_case() -> None:
            cast_local(CastOptions("bench/hello"), ctx, choice=choice, retention=retention)

        installed = LocalStore(home.spells).resolve("bench/hello")
        request = CastRequest(bundle_dir=installed.path, manifest=load_manifest(installed.path), input={})
        runtime = HostRuntime()
        rates = [
            (
                "`subprocess.run(['/bin/true'])`",
                _per_second(lambda: subprocess.run(["/bin/true"], check=True), args.casts),
            ),
            ("host runner (`HostRuntime.run`)", _per_second(lambda: runtime.run(request), args.casts)),
            ("local cast use case (`cast_local`)", _per_second(use_case, args.casts)),
        ]
    base = rows[0][1][0]
    print(f"runs={args.runs} casts={args.casts} load={os.getloadavg()[0]:.2f} cpus={os.cpu_count()}")
    print("| measure | median ms | over `python -c pass` ms | fastest ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, (ms, fastest) in rows:
        print(f"| {name} | {ms:.1f} | {ms - base:.1f} | {fastest:.1f} |")
    verdict = "met" if rows[-1][1][0] < TARGET_MS else "NOT met"
    print(f"\ntarget: `spell cast` under {TARGET_MS:.0f} ms wall — {verdict}\n")
    print("| in process | casts/s | ms per cast |")
    print("| --- | ---: | ---: |")
    for name, rate in rates:
        print(f"| {name} | {rate:.0f} | {1000 / rate:.2f} |")


if __name__ == "__main__":
    main()
