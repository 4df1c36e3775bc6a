"""What ``spell cast`` prints by default and with -v, ``--input -``, and the stderr a wasm spell leaves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spell.config.home import SpellHome
from tests.cli.run_cli import run_cli
from tests.local.harness import host_spell, use_home
from tests.local.wasm_spells import wasm_spell

ECHO_INPUT = '#!/bin/sh\ncat "$INPUT_JSON"\n'


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    return use_home(tmp_path, monkeypatch)


def test_default_output_is_the_result_without_the_summary(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "quiet", "#!/bin/sh\necho hi there\n")
    result = run_cli("cast", spell)
    assert result.exit_code == 0, result.stderr
    assert "Execution Summary" not in result.stdout
    assert "hi there" in result.stdout
    assert "execution_id: exec_" in result.stdout
    assert result.stderr == ""


def test_dash_v_adds_the_summary_and_progress(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "loud", "#!/bin/sh\necho hi there\n")
    result = run_cli("cast", spell, "-v")
    assert result.stdout.startswith("=== Execution Summary ===")
    assert "spell: step main: succeeded" in result.stderr


def test_a_dry_run_prints_the_summary_without_dash_v(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "dry", "#!/bin/sh\necho hi\n")
    assert "=== Execution Summary ===" in run_cli("cast", spell, "--dry-run").stdout


def test_input_dash_reads_the_document_from_stdin(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "stdin", ECHO_INPUT)
    result = run_cli("cast", spell, "--input", "-", "-p", "extra=1", "--json", stdin=b'{"name": "ada"}')
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.json()["outputs"]["step.main.stdout"]) == {"name": "ada", "extra": 1}


def test_input_dash_refuses_stdin_that_is_not_json(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "badstdin", ECHO_INPUT)
    result = run_cli("cast", spell, "--input", "-", "--json", stdin=b"name=ada")
    assert result.exit_code == 6
    assert result.error()["code"] == "VALIDATION_ERROR"
    assert "from stdin" in result.error()["message"]


def test_input_dash_refuses_stdin_past_the_size_cap_without_reading_it_all(
    tmp_path: Path, home: SpellHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    spell = host_spell(tmp_path, "bigstdin", ECHO_INPUT)
    monkeypatch.setenv("SPELL_RUNTIME_INPUT_MAX_BYTES", "64")
    result = run_cli("cast", spell, "--input", "-", "--json", stdin=json.dumps({"t": "x" * 10_000}).encode())
    assert result.exit_code == 1
    assert result.error()["code"] == "PAYLOAD_TOO_LARGE"
    assert result.error()["details"] == {"size": 65, "limit": 64}


def test_a_failed_wasm_cast_prints_its_stderr_and_the_log_keeps_it(tmp_path: Path, home: SpellHome) -> None:
    spell = wasm_spell(tmp_path, "boom", "fail_with_stderr")
    result = run_cli("cast", spell)
    assert result.exit_code == 10
    assert "--- stderr\nboom: the input was wrong\n" in result.stderr
    assert "error: " in result.stderr  # the error line comes after what the spell said

    newest = run_cli("log")  # no id: the newest log
    assert newest.exit_code == 0
    assert "--- stderr\nboom: the input was wrong" in newest.stdout
    as_json = run_cli("cast", spell, "--json")
    assert as_json.json()["stderr"] == "boom: the input was wrong\n"
    assert as_json.error()["code"] == "RUNTIME_FAILED"  # stderr holds only the JSON error
    record = run_cli("log", "--json").json()
    assert record["stderr"] == "boom: the input was wrong\n"
    assert record["outcome"] == "FAILED"


def test_a_flooded_stderr_is_kept_capped_with_a_marker(tmp_path: Path, home: SpellHome) -> None:
    spell = wasm_spell(tmp_path, "flood", "stderr_flood", fuel=10**15)
    run_cli("cast", spell)
    stderr = run_cli("log", "--json").json()["stderr"]
    marker, _, kept = stderr.partition("\n")
    assert marker.endswith("bytes cut …]")
    assert kept == "A" * 64 * 1024


def test_log_without_any_cast_says_there_is_none(home: SpellHome) -> None:
    result = run_cli("log", "--json")
    assert result.exit_code == 3
    assert result.error()["code"] == "LOG_NOT_FOUND"
