from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from spell.bundle.loaders import load_manifest
from spell.runtimes.base import CastRequest
from spell.runtimes.host import EngineSettings, HostRuntime, ProcessLimits
from tests.runtimes.host.bundles import cast, make_bundle

ONE = [{"uses": "shell", "name": "main", "run": "steps/main.sh"}]


def _one(tmp_path: Path, script: str) -> Path:
    return make_bundle(tmp_path / "bundle", ONE, {"steps/main.sh": script})


def _processes_with_marker(marker: str) -> list[int]:
    """Scan /proc for live (non-zombie) processes whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def test_step_is_executed_directly_with_input_on_stdin_and_in_input_json(tmp_path: Path) -> None:
    script = '#!/bin/sh\necho "$0"\ncat\necho\ncat "$INPUT_JSON"\n'
    result = cast(_one(tmp_path, script), {"name": "x"})
    lines = result.output["step.main.stdout"].splitlines()
    assert result.outcome == "SUCCEEDED"
    assert lines[0].endswith("/steps/main.sh")
    assert json.loads(lines[1]) == {"name": "x"}
    assert json.loads(lines[2]) == {"name": "x"}


def test_step_runs_in_a_private_copy_and_leaves_the_bundle_untouched(tmp_path: Path) -> None:
    bundle = _one(tmp_path, "#!/bin/sh\npwd\necho changed > spell.yaml\n")
    before = (bundle / "spell.yaml").read_bytes()
    result = cast(bundle)
    cwd = Path(result.output["step.main.stdout"].strip())
    assert cwd != bundle
    assert (bundle / "spell.yaml").read_bytes() == before
    assert not cwd.exists()  # the workspace, input file included, is deleted after the cast


def test_environment_is_minimal_plus_declared_tokens(tmp_path: Path) -> None:
    os.environ["SPELL_TEST_LEAK"] = "leaked"
    try:
        result = cast(_one(tmp_path, "#!/bin/sh\nenv\n"), env={"CONNECTOR_GH_TOKEN": "tok"})
    finally:
        del os.environ["SPELL_TEST_LEAK"]
    names = {line.split("=", 1)[0] for line in result.output["step.main.stdout"].splitlines()}
    assert "SPELL_TEST_LEAK" not in names
    assert {"PATH", "HOME", "INPUT_JSON", "CONNECTOR_GH_TOKEN"} <= names
    assert names <= {
        "PATH",
        "HOME",
        "TMPDIR",
        "LANG",
        "LC_ALL",
        "INPUT_JSON",
        "CONNECTOR_GH_TOKEN",
        "PWD",
        "SHLVL",
        "_",
    }


def test_step_is_never_run_through_a_shell(tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path / "b", [{"uses": "shell", "name": "main", "run": "steps/x.sh; touch pwned"}], {}
    )
    result = cast(bundle)
    assert result.outcome == "FAILED"
    assert "step file not found" in result.details["steps"][0]["message"]


def test_failed_step_keeps_exit_code_and_output_heads(tmp_path: Path) -> None:
    result = cast(_one(tmp_path, "#!/bin/sh\necho partial\necho broken >&2\nexit 7\n"))
    step = result.details["steps"][0]
    assert result.outcome == "FAILED"
    assert (step["exit_code"], step["stdout_head"], step["stderr_head"]) == (7, "partial\n", "broken\n")
    assert result.exit_code == 7


def test_shell_stdout_that_is_json_is_addressable_by_path(tmp_path: Path) -> None:
    result = cast(_one(tmp_path, '#!/bin/sh\necho \'{"a": {"b": [1, 2]}}\'\n'))
    assert result.output["step.main.json"] == {"a": {"b": [1, 2]}}


def test_step_timeout_kills_the_grandchild_too(tmp_path: Path) -> None:
    marker = f"spell-grandchild-{os.getpid()}-{time.monotonic_ns()}"
    # the step starts a child that starts a grandchild, all of them sleeping past the timeout
    script = (
        f"#!/bin/sh\nsh -c 'sleep 300; : {marker}' &\n"
        f"sh -c 'sh -c \"sleep 300; : {marker}\" & sleep 300; : {marker}'\n"
    )
    started = time.monotonic()
    result = cast(_one(tmp_path, script), settings=EngineSettings(step_timeout_ms=500))
    assert time.monotonic() - started < 5
    assert result.outcome == "TIMEOUT"
    assert result.details["steps"][0]["timed_out"] is True
    assert _processes_with_marker(marker) == []


def test_cast_timeout_kills_the_running_step(tmp_path: Path) -> None:
    marker = f"spell-cast-timeout-{time.monotonic_ns()}"
    result = cast(
        _one(tmp_path, f"#!/bin/sh\nsh -c 'sleep 300; : {marker}' &\nsleep 300\n"),
        settings=EngineSettings(step_timeout_ms=60_000, execution_timeout_ms=400),
    )
    assert result.outcome == "TIMEOUT"
    assert "execution timeout" in result.message
    assert _processes_with_marker(marker) == []


def test_background_children_do_not_outlive_a_successful_step(tmp_path: Path) -> None:
    marker = f"spell-daemon-{time.monotonic_ns()}"
    result = cast(_one(tmp_path, f"#!/bin/sh\nsh -c 'sleep 300; : {marker}' >/dev/null 2>&1 &\necho done\n"))
    assert result.outcome == "SUCCEEDED"
    assert _processes_with_marker(marker) == []


def test_cancel_event_kills_the_running_step_at_once(tmp_path: Path) -> None:
    bundle = _one(tmp_path, '#!/bin/sh\ntouch "$HOME/../started"\nsleep 300\n')
    cancel = threading.Event()
    results = []
    worker = threading.Thread(target=lambda: results.append(cast(bundle, cancel=cancel)))
    started = time.monotonic()
    worker.start()
    cancel.set()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert time.monotonic() - started < 5
    assert results[0].outcome == "CANCELED"


def test_resource_limits_apply_to_step_processes(tmp_path: Path) -> None:
    limits = ProcessLimits(cpu_seconds=7, address_space_mb=512, open_files=64, processes=4096)
    result = cast(
        _one(tmp_path, "#!/bin/sh\nulimit -t\nulimit -v\nulimit -n\n"),
        settings=EngineSettings(limits=limits),
    )
    assert result.output["step.main.stdout"].split() == ["7", str(512 * 1024), "64"]


def test_usage_is_measured_from_the_process(tmp_path: Path) -> None:
    script = "#!/bin/sh\ni=0\nwhile [ $i -lt 20000 ]; do i=$((i+1)); done\necho $i\n"
    result = cast(_one(tmp_path, script))
    assert result.usage.cpu_ms > 0
    assert result.usage.peak_memory_bytes > 0
    assert result.usage.wall_ms >= result.details["steps"][0]["duration_ms"]


def test_canceled_cast_runs_no_further_steps_or_rollbacks(tmp_path: Path) -> None:
    steps: list[dict[str, Any]] = [
        {"uses": "shell", "name": "first", "run": "steps/first.sh", "rollback": "steps/undo.sh"},
        {"uses": "shell", "name": "second", "run": "steps/second.sh", "depends_on": ["first"]},
        {"uses": "shell", "name": "third", "run": "steps/first.sh", "depends_on": ["second"]},
    ]
    files = {
        "steps/first.sh": "#!/bin/sh\necho 1\n",
        "steps/second.sh": "#!/bin/sh\nsleep 300\n",
        "steps/undo.sh": "#!/bin/sh\n",
    }
    bundle = make_bundle(tmp_path / "b", steps, files)
    cancel = threading.Event()

    def progress(event: str, step: str, _detail: str) -> None:
        if (event, step) == ("started", "second"):
            cancel.set()  # the cast is canceled while "second" runs

    request = CastRequest(
        bundle_dir=bundle, manifest=load_manifest(bundle), input={}, cancel=cancel, progress=progress
    )
    started = time.monotonic()
    result = HostRuntime().run(request)
    assert time.monotonic() - started < 10
    assert result.outcome == "CANCELED"
    assert [s["name"] for s in result.details["steps"]] == ["first", "second"]
    rollback = result.details["rollback"]
    assert (rollback["planned"], rollback["attempted"], rollback["state"]) == (1, 0, "not_compensated")


def test_step_output_reaches_the_log_sink_while_the_step_runs(tmp_path: Path) -> None:
    bundle = _one(tmp_path, "#!/bin/sh\necho one\nsleep 1\necho two >&2\nprintf 'no newline'\n")
    seen: list[tuple[float, str, str, str]] = []
    request = CastRequest(
        bundle_dir=bundle,
        manifest=load_manifest(bundle),
        input={},
        log=lambda step, stream, text: seen.append((time.monotonic(), step, stream, text)),
    )

    result = HostRuntime().run(request)
    ended = time.monotonic()

    assert result.outcome == "SUCCEEDED"
    assert [(step, stream, text) for _, step, stream, text in seen] == [
        ("main", "stdout", "one\n"),
        ("main", "stderr", "two\n"),
        ("main", "stdout", "no newline"),
    ]
    assert ended - seen[0][0] > 0.5  # the first line came while the step still slept
    assert "one" in result.stdout


def test_without_a_log_sink_a_step_runs_as_before(tmp_path: Path) -> None:
    bundle = _one(tmp_path, "#!/bin/sh\necho quiet\n")

    result = cast(bundle)

    assert result.outcome == "SUCCEEDED"
    assert result.stdout.strip() == "quiet"
