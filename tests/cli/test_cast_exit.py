"""``spell cast`` as a program ends without the interpreter's teardown, and exits as Python would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spell.config.home import SpellHome
from tests.local.harness import host_spell, use_home

# A process that says when its atexit functions run and when its modules are torn down.
_PROGRAM = """
import atexit, sys, threading
class Teardown:
    def __del__(self):
        sys.stderr.write("torn down\\n")
sys.modules["__main__"].witness = Teardown()
atexit.register(lambda: sys.stderr.write("atexit ran\\n"))
if sys.argv[1] == "thread":
    threading.Thread(target=threading.Event().wait, daemon=True).start()
from spell.cli.app import main
sys.argv[1:] = sys.argv[2:]
main()
"""


def _spell(*args: str, home: SpellHome, mode: str = "plain") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SPELL_HOME=str(home.root))
    return subprocess.run(
        [sys.executable, "-c", _PROGRAM, mode, *args], capture_output=True, text=True, env=env, check=False
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    return use_home(tmp_path, monkeypatch)


def test_a_cast_runs_atexit_flushes_and_skips_the_teardown(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "quick", "#!/bin/sh\necho hi\n")
    done = _spell("cast", spell, "--json", home=home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "SUCCEEDED"  # the whole document was flushed
    assert done.stderr == "atexit ran\n"


def test_a_refused_cast_keeps_its_exit_code_and_message(home: SpellHome) -> None:
    done = _spell("cast", "nobody/nothing", home=home)
    assert done.returncode == 3
    assert "SPELL_NOT_FOUND" in done.stderr
    assert done.stderr.endswith("atexit ran\n")
    assert "torn down" not in done.stderr


def test_a_usage_error_keeps_clicks_exit_code(home: SpellHome) -> None:
    done = _spell("cast", "--no-such-option", home=home)
    assert done.returncode == 2
    assert "No such option" in done.stderr
    assert "torn down" not in done.stderr


def test_another_running_thread_gets_the_usual_exit(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "threaded", "#!/bin/sh\necho hi\n")
    done = _spell("cast", spell, "--json", home=home, mode="thread")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "SUCCEEDED"
    assert done.stderr == "atexit ran\ntorn down\n"


def test_other_commands_get_the_usual_exit(home: SpellHome) -> None:
    done = _spell("list", "--json", home=home)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "atexit ran\ntorn down\n"
