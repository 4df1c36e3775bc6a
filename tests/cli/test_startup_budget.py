"""The start-up budget of ``spell``, counted in imported modules rather than timed.

Wall time on a shared machine moves by tens of percent between runs; the modules a process imports
do not, and they are where a local cast's start-up goes (docs/performance.md, "Local cast
start-up"). Each probe counts the modules ``spell`` adds to those of a bare interpreter started the
same way, so site hooks (coverage, ``.pth`` files) do not move the count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from spell.config.home import SpellHome
from tests.local.harness import host_spell, use_home

# Measured with CPython 3.11: 63 modules for --help; a host cast 204 the first time (dry run or
# not) and 150 once its manifest parse, signature check and input verdict are in the private cache
# (``spell.bundle.cache``), which spares it PyYAML, cryptography, jsonschema-rs and click. The
# headroom allows small additions; a new dependency on these paths fails here and becomes a
# decision instead of a slow drift.
HELP_BUDGET = 66
FIRST_CAST_BUDGET = 206
CAST_BUDGET = 152

# What a cast that has been cast before with the same input does without (``socket``: only the
# egress client, loaded for a spell with an http step or check, needs it).
NOT_FOR_A_REPEATED_CAST = ("yaml", "cryptography", "jsonschema_rs", "click", "socket")

# Packages a host cast never needs: the server stack, other runtimes, registry and PEM parsing,
# TLS clients, the TOML parser (a spell.yaml bundle), and the modules of steps and checks it lacks.
NOT_FOR_A_HOST_CAST = (
    "wasmtime",
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "pydantic",
    "httpx",
    "rich",
    "jsonschema",
    "icu",
    "ssl",
    "http.client",
    "urllib.request",
    "concurrent.futures",
    "tarfile",
    "tomllib",
    "cryptography.x509",
    "cryptography.hazmat.primitives.serialization",
    "spell.api",
    "spell.platform",
    "spell.storage",
    "spell.models",
    "spell.queue",
    "spell.policy",
    "spell.runtimes.wasm",
    "spell.runtimes.docker",
    "spell.runtimes.host.checks",
    "spell.runtimes.host.http_step",
    "spell.runtimes.egress.client",
    "spell.runtimes.egress.rules",
    "spell.signing.licenses",
)

_BARE = "import json, sys; print(json.dumps(sorted(sys.modules)))"
_PROBE = """
import contextlib, io, json, sys
from spell.cli.app import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
    main(sys.argv[1:])
print(json.dumps({"modules": sorted(sys.modules), "stdout": out.getvalue()}))
"""


def _run(code: str, *args: str, home: Path | None = None) -> Any:
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if home is not None:
        env["SPELL_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(done.stdout)


def _spell(*args: str, home: Path | None = None) -> tuple[set[str], str]:
    """The modules ``spell ARGS`` adds to a bare interpreter's, and what it printed."""
    bare = set(_run(_BARE))
    report = _run(_PROBE, *args, home=home)
    return set(report["modules"]) - bare, report["stdout"]


def _loaded(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(f"{package}."))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    return use_home(tmp_path, monkeypatch)


def test_spell_help_stays_within_its_module_budget() -> None:
    added, _ = _spell("--help")
    assert len(added) <= HELP_BUDGET, sorted(added)


@pytest.mark.parametrize("mode", ["--dry-run", "--json"])
def test_a_signed_host_cast_stays_within_its_module_budget(
    tmp_path: Path, home: SpellHome, mode: str
) -> None:
    spell = host_spell(tmp_path, "budget", "#!/bin/sh\necho hi\n")
    first, _ = _spell("cast", spell, mode, home=home.root)
    assert len(first) <= FIRST_CAST_BUDGET, sorted(first)
    added, stdout = _spell("cast", spell, mode, home=home.root)
    assert len(added) <= CAST_BUDGET, sorted(added)
    assert "spell.runtimes.host.engine" in added  # the probe cast for real, not a refusal
    assert [m for package in NOT_FOR_A_REPEATED_CAST for m in _loaded(added, package)] == []
    if mode == "--json":  # the lighter start-up kept every guarantee: verified, run, logged
        result = json.loads(stdout)
        assert result["outcome"] == "SUCCEEDED"
        assert result["summary"]["signature"]["status"] == "verified"
        assert Path(result["log_path"]).is_file()


def test_a_signed_host_cast_imports_no_package_it_does_not_need(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "lean", "#!/bin/sh\necho hi\n")
    added, _ = _spell("cast", spell, "--json", home=home.root)
    assert [m for package in NOT_FOR_A_HOST_CAST for m in _loaded(added, package)] == []


def test_a_host_cast_with_checks_loads_the_checks_it_runs(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(
        tmp_path, "checked", "#!/bin/sh\necho hi\n", checks=[{"type": "exit_code", "params": {}}]
    )
    added, stdout = _spell("cast", spell, "--json", home=home.root)
    assert "spell.runtimes.host.checks" in added
    log = json.loads(Path(json.loads(stdout)["log_path"]).read_text(encoding="utf-8"))
    assert [(c["type"], c["success"]) for c in log["checks"]] == [("exit_code", True)]


def test_a_host_cast_with_an_http_step_loads_the_egress_client(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(
        tmp_path,
        "calling",
        "",
        steps=[{"uses": "http", "name": "call", "run": "steps/call.json"}],
        files={"steps/call.json": json.dumps({"method": "GET", "url": "https://127.0.0.1/"})},
    )
    added, stdout = _spell("cast", spell, "--json", home=home.root)
    assert {"spell.runtimes.egress.client", "spell.runtimes.host.http_step"} <= added
    result = json.loads(stdout)  # refused by the rules before any lookup: an IP literal
    assert result["outcome"] == "POLICY_VIOLATION"
    assert "egress denied (ip_literal)" in result["message"]
