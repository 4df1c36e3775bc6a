"""What a ``spell cast`` process loads: the start-up budget depends on leaving these out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spell.config.home import SpellHome
from tests.local.harness import host_spell, use_home

_PROBE = """
import contextlib, io, json, sys
from spell.cli.app import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(sys.argv[1:])
avoidable = (
    "jsonschema",  # replaced by jsonschema-rs
    "cryptography.hazmat.primitives.serialization",  # only keygen and signing parse PEM
    "concurrent.futures",  # only parallel step waves
    "pydantic",  # the manifest model is msgspec; pydantic only for registry indexes, policy and server models
)
loader = sys.modules.get("pydantic.plugin._loader")
print(json.dumps({
    "loaded": sorted(m for m in avoidable if m in sys.modules),
    "plugins_scanned": loader is not None and loader._plugins is not None,
    "cast_ran": "spell.runtimes.host.engine" in sys.modules,
}))
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    return use_home(tmp_path, monkeypatch)


def test_casting_a_signed_spell_loads_no_avoidable_module(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "lean", "#!/bin/sh\necho hi\n")
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, "cast", spell, "--json"],
        capture_output=True,
        text=True,
        check=True,
        env={**env, "SPELL_HOME": str(home.root)},
    )
    report = json.loads(done.stdout)
    assert report == {"loaded": [], "plugins_scanned": False, "cast_ran": True}, done.stderr
