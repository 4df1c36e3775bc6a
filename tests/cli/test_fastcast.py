"""A plain local ``spell cast`` runs without click, and prints exactly what the click command prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from spell.cli.fastcast import plain_local_cast
from spell.config.home import SpellHome
from tests.local.harness import host_spell, use_home

BASE = {
    "spell_id": "acme/x",
    "version": None,
    "params": (),
    "dry_run": False,
    "yes": False,
    "allow_billing": False,
    "allow_unsigned": False,
    "require_signature": False,
    "verbose": False,
    "as_json": False,
}


@pytest.mark.parametrize(
    ("args", "changes"),
    [
        (["cast", "acme/x"], {}),
        (["cast", "--json", "acme/x", "-v"], {"as_json": True, "verbose": True}),
        (["cast", "acme/x", "--dry-run", "--yes", "--dry-run"], {"dry_run": True, "yes": True}),
        (
            ["cast", "acme/x", "--allow-billing", "--allow-unsigned", "--require-signature", "--verbose"],
            {"allow_billing": True, "allow_unsigned": True, "require_signature": True, "verbose": True},
        ),
        (["cast", "-p", "a=1", "acme/x", "--param", "b.c=x y"], {"params": ("a=1", "b.c=x y")}),
        (["cast", "acme/x", "--version", "1.2.3"], {"version": "1.2.3"}),
        (["cast", "", "-p", "="], {"spell_id": "", "params": ("=",)}),
    ],
)
def test_plain_arguments_are_read_as_click_reads_them(args: list[str], changes: dict[str, object]) -> None:
    assert plain_local_cast(args, {}) == {**BASE, **changes}


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["list"],
        ["--help", "cast"],
        ["cast"],
        ["cast", "--help"],
        ["cast", "acme/x", "-h"],
        ["cast", "acme/x", "--remote"],
        ["cast", "acme/x", "--profile", "p"],
        ["cast", "acme/x", "--input", "in.json"],
        ["cast", "acme/x", "--param=a=1"],
        ["cast", "acme/x", "-pa=1"],
        ["cast", "acme/x", "-vp", "a=1"],
        ["cast", "acme/x", "-p"],
        ["cast", "acme/x", "-p", "--json"],
        ["cast", "acme/x", "--version", "1.0.0", "--version", "2.0.0"],
        ["cast", "acme/x", "acme/y"],
        ["cast", "--", "acme/x"],
        ["cast", "-", "--json"],
        ["cast", "acme/x", "--unknown"],
    ],
)
def test_anything_else_goes_to_click(args: list[str]) -> None:
    assert plain_local_cast(args, {}) is None


@pytest.mark.parametrize("environ", [{"SPELL_PROFILE": "work"}, {"_SPELL_COMPLETE": "bash_complete"}])
def test_a_profile_or_completion_in_the_environment_goes_to_click(environ: dict[str, str]) -> None:
    assert plain_local_cast(["cast", "acme/x"], environ) is None


_PROBE = """
import sys
if sys.argv[1] == "click":
    import spell.cli.fastcast
    spell.cli.fastcast.plain_local_cast = lambda args, environ: None
import atexit
atexit.register(lambda: sys.stderr.write("\\nclick loaded\\n" if "click" in sys.modules else ""))
from spell.cli.app import main
main(sys.argv[2:])
"""
_IDS = re.compile(r"exec_[0-9A-Z]{26}")
_MEASURED = re.compile(r'("(?:cpu_ms|wall_ms|peak_memory_bytes)": )[0-9.]+')
_CLICK = "\nclick loaded\n"


def _spell(path: str, *args: str, home: SpellHome) -> tuple[int, str, str]:
    env = {**os.environ, "SPELL_HOME": str(home.root)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, path, *args], capture_output=True, text=True, env=env, check=False
    )
    out, err = (_MEASURED.sub(r"\1N", _IDS.sub("EXEC", text)) for text in (done.stdout, done.stderr))
    return done.returncode, out, err


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    return use_home(tmp_path, monkeypatch)


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--json",),
        ("--dry-run", "-v"),
        ("-v", "-p", "name=world"),
    ],
)
def test_both_paths_print_the_same(tmp_path: Path, home: SpellHome, args: tuple[str, ...]) -> None:
    # A colour code a non-terminal gets stripped of, as click strips it.
    spell = host_spell(tmp_path, "hues", "#!/bin/sh\nprintf '\\033[31mred\\033[0m plain\\n'\n")
    fast = _spell("fast", "cast", spell, *args, home=home)
    slow = _spell("click", "cast", spell, *args, home=home)
    assert fast[0] == 0, fast[2]
    assert slow[2].endswith(_CLICK)
    assert not fast[2].endswith(_CLICK)  # the fast path ran without click
    assert fast == (slow[0], slow[1], slow[2].removesuffix(_CLICK))
    if not args:
        assert "red plain" in fast[1]
        assert "\033" not in fast[1]


@pytest.mark.parametrize("args", [(), ("--json",)])
def test_both_paths_fail_the_same(tmp_path: Path, home: SpellHome, args: tuple[str, ...]) -> None:
    spell = host_spell(tmp_path, "fails", "#!/bin/sh\necho out\necho oops >&2\nexit 3\n")
    fast = _spell("fast", "cast", spell, *args, home=home)
    slow = _spell("click", "cast", spell, *args, home=home)
    assert fast[0] == slow[0] == 10
    assert fast == slow  # (rendering the error loads click on both paths)


@pytest.mark.parametrize("args", [(), ("--json",)])
def test_both_paths_refuse_the_same(home: SpellHome, args: tuple[str, ...]) -> None:
    fast = _spell("fast", "cast", "samples/absent", *args, home=home)
    slow = _spell("click", "cast", "samples/absent", *args, home=home)
    assert fast[0] == slow[0] == 3
    assert "SPELL_NOT_FOUND" in fast[2]
    assert fast == slow
