"""Local cast start-up: ``spell cast`` of a signed one-step host spell next to ``spell --help``.

    .venv/bin/python benchmarks/startup_bench.py [--runs N] [--source DIR ...]

Every process is timed in one interleaved loop (one of each per round), so bursts of other work on
the machine hit every row alike. Rows, per source tree (``--source`` puts a tree's ``src`` first on
``PYTHONPATH``; without it, the ``spell`` this interpreter imports runs):

- ``python -c pass`` (the interpreter alone);
- ``spell --help``;
- ``spell cast bench/hello --dry-run`` (every check, the summary and the log, nothing executed);
- ``spell cast bench/hello`` (the same plus one ``sh`` step in the sandbox);
- ``spell cast bench/hello`` with ``$SPELL_HOME/cache`` emptied before each run (the first cast of a
  spell: its manifest parse, signature check and input verdict are not remembered yet). The other
  rows run after a warm-up run, so they are repeated casts.

Each row gives the median and fastest wall time, how many runs met the 100 ms target, the median CPU
time (user + system; other work on the machine moves it less than the wall time) and how many
modules the process had imported when it exited.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _scratch import host_hello_bundle
from _timing import user_env
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.bundle.install import install
from spell.bundle.sources import FetchContext
from spell.bundle.store import LocalStore
from spell.config.home import SpellHome
from spell.signing.keys import public_key_to_b64url
from spell.signing.signature import sign_bundle
from spell.signing.trust import TrustStore

TARGET_MS = 100.0
# The console script's body, so a source tree on PYTHONPATH wins over the installed package.
_SPELL = "import sys; from spell.cli.app import main; sys.argv[0] = 'spell'; main()"
_COUNT = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write(f'\\nmodules={len(sys.modules)}\\n'))\n"
    "from spell.cli.app import main\n"
    "main()\n"
)


def _prepare_home(root: Path) -> SpellHome:
    home = SpellHome(root / "home")
    bundle = host_hello_bundle(root)
    key = Ed25519PrivateKey.generate()
    sign_bundle(bundle, key)
    TrustStore(home.trust).add_key("bench", public_key_to_b64url(key.public_key()))
    install(str(bundle), LocalStore(home.spells), FetchContext())
    return home


def _modules_at_exit(args: tuple[str, ...], env: dict[str, str]) -> int:
    """How many modules a ``spell`` process with ``args`` had imported when it exited."""
    done = subprocess.run(
        [sys.executable, "-c", _COUNT, *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return int(done.stderr.decode().rsplit("modules=", 1)[1])


def _time_ms(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) milliseconds of one process; CPU time suffers less from other load."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


# (row name, argv, environment, spell arguments, whether $SPELL_HOME/cache is emptied first)
Case = tuple[str, list[str], dict[str, str], tuple[str, ...], bool]
ROWS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("`spell --help`", ("--help",), False),
    ("`spell cast --dry-run`", ("cast", "bench/hello", "--dry-run"), False),
    ("`spell cast`", ("cast", "bench/hello"), False),
    ("`spell cast`, empty cache", ("cast", "bench/hello"), True),
)


def _cases(trees: list[str], base_env: dict[str, str]) -> list[Case]:
    cases: list[Case] = [("`python -c pass`", [sys.executable, "-c", "pass"], base_env, (), False)]
    for tree in trees:
        env = dict(base_env)
        if tree:
            env["PYTHONPATH"] = str(Path(tree).resolve() / "src")
        label = f" ({Path(tree).name})" if len(trees) > 1 else ""
        for name, spell_args, cold in ROWS:
            cases.append((name + label, [sys.executable, "-c", _SPELL, *spell_args], env, spell_args, cold))
    # The empty-cache rows last: the tree that writes the cache fills it again for the next round.
    return sorted(cases, key=lambda case: case[4])


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument(
        "--source", action="append", default=[], help="A source tree to measure (repeatable)."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = _prepare_home(Path(tmp))
        cases = _cases(args.source or [""], user_env(SPELL_HOME=str(home.root)))
        for _, argv, env, _, _ in cases:
            _time_ms(argv, env)  # warm the byte-code caches
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in cases}
        for _ in range(args.runs):
            for name, argv, env, _, cold in cases:
                if cold:
                    shutil.rmtree(home.cache, ignore_errors=True)
                samples[name].append(_time_ms(argv, env))
        modules: dict[str, int] = {}
        for name, _, env, spell_args, cold in cases:
            if spell_args:
                if cold:
                    shutil.rmtree(home.cache, ignore_errors=True)
                modules[name] = _modules_at_exit(spell_args, env)
    python = sys.version.split()[0]
    print(f"runs={args.runs} load={os.getloadavg()[0]:.2f} cpus={os.cpu_count()} python={python}")
    print(
        f"| measure | median ms | fastest ms | runs <= {TARGET_MS:.0f} ms | median CPU ms | modules at exit |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, values in samples.items():
        walls = [wall for wall, _ in values]
        met = sum(wall <= TARGET_MS for wall in walls)
        cpu = statistics.median(cpu for _, cpu in values)
        count = modules.get(name)
        print(
            f"| {name} | {statistics.median(walls):.1f} | {min(walls):.1f} | {met}/{len(walls)} | {cpu:.1f} "
            f"| {'' if count is None else count} |"
        )


if __name__ == "__main__":
    main()
