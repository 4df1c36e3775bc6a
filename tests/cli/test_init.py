"""``spell init``: scaffolds a WASM project that builds and casts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spell.bundle.loaders import load_manifest
from spell.runtimes.base import CastRequest, Outcome
from spell.runtimes.wasm import WasmRuntime
from tests.cli.run_cli import run_cli


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))


def _cast(folder: Path) -> object:
    runtime = WasmRuntime()
    result = runtime.run(CastRequest(bundle_dir=folder, manifest=load_manifest(folder), input={"name": "x"}))
    runtime.close()
    assert result.outcome is Outcome.SUCCEEDED, (result.message, result.stderr)
    return result.output


def test_init_wat_creates_a_project_that_casts_at_once(tmp_path: Path) -> None:
    target = tmp_path / "hello"
    result = run_cli("init", "acme/hello", "--dir", str(target), "--json")
    assert result.exit_code == 0, result.stderr
    payload = result.json()
    assert payload["id"] == "acme/hello"
    assert payload["files"] == ["build.sh", "main.wat", "schema.json", "spell.wasm", "spell.yaml"]
    assert payload["built"] is True
    assert load_manifest(target).id == "acme/hello"
    assert (target / "build.sh").stat().st_mode & 0o111
    assert _cast(target) == {"echo": {"name": "x"}}


def test_a_plain_name_gets_the_publisher_option(tmp_path: Path) -> None:
    result = run_cli(
        "init", "wc", "--publisher", "me", "--dir", str(tmp_path / "wc"), "--template", "c", "--json"
    )
    assert result.json()["id"] == "me/wc"
    assert result.json()["built"] is False
    assert load_manifest(tmp_path / "wc").name == "wc"


@pytest.mark.parametrize(("template", "tool"), [("c", "clang"), ("rust", "/usr/bin/rustc")])
def test_c_and_rust_templates_build_with_their_script_and_cast(
    tmp_path: Path, template: str, tool: str
) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (scripts/setup.sh installs it)")
    target = tmp_path / template
    assert (
        run_cli("init", f"acme/{template}-demo", "--template", template, "--dir", str(target)).exit_code == 0
    )
    subprocess.run([str(target / "build.sh")], check=True, capture_output=True)
    assert _cast(target) == {"echo": {"name": "x"}}


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    result = run_cli("init", "taken", "--dir", str(tmp_path / "taken"), "--json")
    assert result.exit_code != 0
    assert result.error()["code"] == "ALREADY_EXISTS"


def test_init_refuses_a_bad_id(tmp_path: Path) -> None:
    result = run_cli("init", "Bad Name", "--dir", str(tmp_path / "x"), "--json")
    assert result.exit_code != 0
    assert result.error()["code"] == "VALIDATION_ERROR"


def test_init_refuses_an_unknown_template(tmp_path: Path) -> None:
    result = run_cli("init", "x", "--template", "cobol", "--dir", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert "cobol" in result.stderr


def test_human_output_names_the_next_step(tmp_path: Path) -> None:
    result = run_cli("init", "acme/r", "--template", "rust", "--dir", str(tmp_path / "r"))
    assert "./build.sh" in result.stdout


def test_scaffold_refuses_a_template_it_does_not_ship(tmp_path: Path) -> None:
    from spell.cli.commands.init import scaffold
    from spell.errors import InvalidInput

    with pytest.raises(InvalidInput) as info:
        scaffold("acme/x", template="cobol", target=tmp_path / "x")
    assert info.value.code == "VALIDATION_ERROR"
    assert not (tmp_path / "x").exists()


def test_the_next_steps_init_prints_take_the_project_to_a_cast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    printed = run_cli("init", "acme/hello").stdout.splitlines()
    assert printed[1] == "next steps:"
    steps = [line.strip() for line in printed[2:]]
    assert steps[0] == "cd hello"
    assert steps[-1] == "spell cast acme/hello -p name=world"
    spell_bin = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{spell_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "SPELL_HOME": str(tmp_path / "home"),
    }
    script = "set -e\n" + "\n".join(steps) + "\n"
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '"name": "world"' in done.stdout  # the template echoes its input
    assert "execution_id: exec_" in done.stdout


def test_a_project_that_needs_building_is_built_before_it_is_signed(tmp_path: Path) -> None:
    target = tmp_path / "my wc"
    payload = run_cli("init", "acme/wc", "--template", "c", "--dir", str(target), "--json").json()
    assert payload["next"][:3] == [f"cd '{target}'", "./build.sh", "spell sign keygen acme"]
