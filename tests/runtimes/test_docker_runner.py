from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spell.runtimes.docker_runner import main
from tests.runtimes.host.bundles import make_bundle

RUNNER = Path(sys.executable).parent / "spell-runner"


def _bundle(tmp_path: Path, script: str) -> Path:
    return make_bundle(
        tmp_path / "b",
        [{"uses": "shell", "name": "main", "run": "steps/main.sh"}],
        {"steps/main.sh": script},
        runtime={"execution": "docker", "docker_image": "acme/img:1"},
    )


def _input(tmp_path: Path, value: object) -> Path:
    path = tmp_path / "input.json"
    path.write_text(json.dumps(value))
    return path


def test_runner_in_process_prints_one_json_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _bundle(tmp_path, '#!/bin/sh\ncat "$INPUT_JSON"\n')
    with pytest.raises(SystemExit) as exit_info:
        main([str(bundle / "spell.yaml"), str(_input(tmp_path, {"x": 1}))])
    lines = capsys.readouterr().out.splitlines()
    assert exit_info.value.code == 0
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["success"] is True
    assert json.loads(data["outputs"]["step.main.stdout"]) == {"x": 1}


def test_runner_console_script_reports_a_failed_step(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "#!/bin/sh\necho bad >&2\nexit 5\n")
    done = subprocess.run(
        [str(RUNNER), str(bundle / "spell.yaml"), str(_input(tmp_path, {}))],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["success"] is False
    assert data["steps"][0]["exit_code"] == 5
    assert data["steps"][0]["stderr_head"] == "bad\n"


def test_runner_refuses_bad_input_with_a_json_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _bundle(tmp_path, "#!/bin/sh\n")
    with pytest.raises(SystemExit) as exit_info:
        main([str(bundle / "spell.yaml"), str(_input(tmp_path, [1, 2]))])
    assert exit_info.value.code == 1
    assert json.loads(capsys.readouterr().out)["code"] == "VALIDATION_ERROR"


def test_runner_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "usage" in capsys.readouterr().err
