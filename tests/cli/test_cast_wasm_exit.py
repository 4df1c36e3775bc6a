"""A finished WASM cast never takes its process down at exit (fresh ``spell`` processes, many times).

wasmtime calls output sinks and their finalizers from its own worker threads; one arriving while the
interpreter finalizes used to abort the process after a successful cast. Each run here is a new
process, so the exit path is exercised every time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from spell.config.home import SpellHome
from tests.cli.run_cli import run_cli
from tests.local.harness import use_home

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "spells"
SPELL = Path(sys.executable).with_name("spell")
RUNS = 30
# Offline and fast: egress-wasm would wait for DNS, and its exit path is the same.
SPELLS = ("hello-wasm", "word-count-c")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    home = use_home(tmp_path, monkeypatch)  # trusts the demo key the examples are signed with
    for name in SPELLS:
        assert run_cli("install", str(EXAMPLES / name)).exit_code == 0
    return home


def _cast(home: SpellHome, name: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPELL_HOME": str(home.root)}
    return subprocess.run(
        [
            str(SPELL),
            "cast",
            f"samples/{name}",
            "--input",
            str(EXAMPLES / name / "demo-input.json"),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_wasm_casts_exit_cleanly_every_time(home: SpellHome) -> None:
    names = [SPELLS[i % len(SPELLS)] for i in range(RUNS)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = list(pool.map(lambda name: _cast(home, name), names))
    bad = [(p.returncode, p.stderr[-400:]) for p in done if p.returncode != 0 or "panic" in p.stderr]
    assert bad == []
    assert all('"outcome": "SUCCEEDED"' in p.stdout for p in done)
