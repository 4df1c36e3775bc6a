"""``spell cast`` of WASM spells on this machine: JSON shape, summary limits, log, outputs, artifacts."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from spell.config.home import SpellHome
from tests.cli.run_cli import run_cli
from tests.local.harness import EXAMPLES, install, use_home
from tests.local.wasm_spells import wasm_spell

WRITE = {"fs_write": ["out"]}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    return use_home(tmp_path, monkeypatch)


def test_json_of_a_wasm_cast_has_output_usage_artifacts_and_id(home: SpellHome) -> None:
    install(EXAMPLES / "hello-wasm", sign=False)
    body = run_cli("cast", "samples/hello-wasm", "-p", "name=ada", "--json").json()
    assert body["outcome"] == "SUCCEEDED"
    assert body["execution_id"].startswith("exec_")
    assert body["output"] == {"greeting": "hello", "input": {"name": "ada"}}
    assert body["outputs"] == body["output"]
    assert body["usage"]["fuel"] > 0
    assert body["usage"]["output_bytes"] > 0
    assert body["artifacts"] == []


def test_the_summary_shows_the_wasm_limits_capped_by_the_operator(
    home: SpellHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(EXAMPLES / "hello-wasm", sign=False)
    monkeypatch.setenv("SPELL_WASM_MAX_TIMEOUT_MS", "250")  # the manifest asks for 1000
    body = run_cli("cast", "samples/hello-wasm", "--dry-run", "--json").json()
    wasm = body["summary"]["runtime"]["wasm"]
    assert (wasm["timeout_ms"], wasm["fuel"], wasm["max_memory_bytes"]) == (250, 10_000_000, 16 * 1024 * 1024)
    assert wasm["net_allow"] == []
    text = run_cli("cast", "samples/hello-wasm", "--dry-run").stdout
    assert "wasm: module=spell.wasm, timeout_ms=250, fuel=10000000" in text
    assert "wasm grants: fs_read=-, fs_write=-, net_allow=-, env_vars=-" in text


def test_host_spells_show_no_wasm_limits(home: SpellHome) -> None:
    install(EXAMPLES / "hello", sign=False)
    body = run_cli("cast", "samples/hello", "-p", "name=ada", "--dry-run", "--json").json()
    assert "wasm" not in body["summary"]["runtime"]


def test_get_output_reads_the_document_of_a_wasm_cast(home: SpellHome) -> None:
    install(EXAMPLES / "hello-wasm", sign=False)
    execution_id = run_cli("cast", "samples/hello-wasm", "-p", "name=ada", "--json").json()["execution_id"]
    assert run_cli("get-output", execution_id, "output.input.name").stdout == "ada\n"
    whole = run_cli("get-output", execution_id, "output", "--json").json()["value"]
    assert whole == {"greeting": "hello", "input": {"name": "ada"}}
    assert run_cli("get-output", execution_id, "output.nope", "--json").error()["code"] == "OUTPUT_NOT_FOUND"


def test_written_files_are_listed_in_the_log_with_digests_and_kept(tmp_path: Path, home: SpellHome) -> None:
    spell = wasm_spell(tmp_path, "reporter", "write_report", policy=WRITE)
    body = run_cli("cast", spell, "--json").json()
    assert body["output"] == {"written": "report.txt"}
    (artifact,) = body["artifacts"]
    assert (artifact["name"], artifact["size"]) == ("out/report.txt", 7)
    assert artifact["sha256"] == hashlib.sha256(b"report\n").hexdigest()
    assert Path(artifact["path"]).read_bytes() == b"report\n"
    assert Path(artifact["path"]).is_relative_to(home.root / "artifacts" / body["execution_id"])
    log = run_cli("log", body["execution_id"], "--json").json()
    assert log["artifacts"] == body["artifacts"]
    human = run_cli("log", body["execution_id"]).stdout
    assert f"artifact out/report.txt: 7 bytes sha256={artifact['sha256']}" in human
    assert "artifact: out/report.txt (7 bytes" in run_cli("cast", spell).stdout


def test_artifacts_are_pruned_with_their_log(
    tmp_path: Path, home: SpellHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    spell = wasm_spell(tmp_path, "reporter", "write_report", policy=WRITE)
    monkeypatch.setenv("SPELL_API_LOG_MAX_FILES", "1")
    first = run_cli("cast", spell, "--json").json()["execution_id"]
    second = run_cli("cast", spell, "--json").json()["execution_id"]
    assert sorted(p.name for p in (home.root / "artifacts").iterdir()) == [second]
    assert run_cli("log", first, "--json").error()["code"] == "LOG_NOT_FOUND"


def test_a_wasm_cast_without_artifacts_leaves_no_folder(tmp_path: Path, home: SpellHome) -> None:
    spell = wasm_spell(tmp_path, "spin", "infinite_loop", policy=WRITE, fuel=1_000_000)
    body = run_cli("cast", spell, "--json")
    assert body.exit_code != 0
    record = run_cli("log", next(home.logs.iterdir()).stem, "--json").json()
    assert (record["outcome"], record["artifacts"]) == ("FUEL_EXHAUSTED", [])
    assert not (home.root / "artifacts" / record["execution_id"]).exists()


@pytest.mark.slow
def test_ctrl_c_cancels_a_running_wasm_cast_and_the_log_says_so(tmp_path: Path, home: SpellHome) -> None:
    spell = wasm_spell(tmp_path, "sleeper", "sleeper", fuel=10**12, timeout_ms=30_000)
    proc = subprocess.Popen(  # a real process: SIGINT reaches the CLI's handler as a user's Ctrl-C does
        [str(Path(sys.executable).with_name("spell")), "cast", spell, "--verbose", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SPELL_HOME": str(home.root)},
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("spell: running"):
            break
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=20)  # the guest would sleep for an hour, its clock is 30 s
    assert proc.returncode != 0
    assert "canceling the cast" in err
    record = run_cli("log", next(home.logs.iterdir()).stem, "--json").json()
    assert record["outcome"] == "CANCELED"
