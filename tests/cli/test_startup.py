from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import contextlib, io, json, sys
from spell.cli.app import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(sys.argv[1:])
heavy = ("pydantic", "cryptography", "yaml", "wasmtime", "sqlalchemy", "icu")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


def _heavy_modules_after(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_spell_help_imports_no_heavy_dependency() -> None:
    assert _heavy_modules_after("--help") == []


def test_group_help_of_sign_and_trust_imports_no_heavy_dependency() -> None:
    assert _heavy_modules_after("sign", "--help") == []
    assert _heavy_modules_after("trust", "--help") == []
