from __future__ import annotations

import json
import os
import stat
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from spell.bundle.loaders import load_manifest
from spell.errors import EngineUnavailable
from spell.runtimes.base import CastRequest
from spell.runtimes.docker import DockerOptions, DockerRuntime, build_docker_argv, parse_runner_output
from tests.runtimes.host.bundles import make_bundle


def test_docker_argv_is_exactly_the_hardened_command(tmp_path: Path) -> None:
    argv = build_docker_argv(
        "acme/img:1",
        bundle_dir=tmp_path / "b",
        input_dir=tmp_path / "in",
        token_names=["CONNECTOR_Z_TOKEN", "CONNECTOR_A_TOKEN"],
        options=DockerOptions(),
        name="spell-0123",
    )
    assert argv == [
        "docker", "run", "--rm", "-i",
        "--name", "spell-0123",
        "--network", "none",
        "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges",
        "--read-only",
        "--user", "65532:65532",
        "--pids-limit", "256",
        "--memory", "512m",
        "--cpus", "1",
        "--tmpfs", "/tmp:rw,nosuid,nodev,size=64m",
        "--tmpfs", "/home/spell:rw,nosuid,nodev,noexec,size=64m",
        "--workdir", "/tmp",
        "-v", f"{tmp_path / 'b'}:/spell:ro",
        "-v", f"{tmp_path / 'in'}:/spell-input:ro",
        "-e", "HOME=/home/spell",
        "-e", "TMPDIR=/tmp",
        "-e", "INPUT_JSON=/spell-input/input.json",
        "-e", "CONNECTOR_A_TOKEN",
        "-e", "CONNECTOR_Z_TOKEN",
        "acme/img:1", "spell-runner", "/spell/spell.yaml", "/spell-input/input.json",
    ]  # fmt: skip


def test_spell_docker_overrides_apply(tmp_path: Path) -> None:
    options = DockerOptions.from_mapping(
        {
            "SPELL_DOCKER_PIDS_LIMIT": "64",
            "SPELL_DOCKER_MEMORY": "1g",
            "SPELL_DOCKER_BINARY": "podman",
            "X": "y",
        }
    )
    argv = build_docker_argv(
        "i", bundle_dir=tmp_path, input_dir=tmp_path, token_names=[], options=options, name="n"
    )
    assert argv[0] == "podman"
    assert argv[argv.index("--pids-limit") + 1] == "64"
    assert argv[argv.index("--memory") + 1] == "1g"
    assert argv[argv.index("--network") + 1] == "none"


def test_token_values_never_reach_the_command_line(tmp_path: Path) -> None:
    argv = build_docker_argv(
        "i",
        bundle_dir=tmp_path,
        input_dir=tmp_path,
        token_names=["CONNECTOR_A_TOKEN"],
        options=DockerOptions(),
        name="n",
    )
    assert "CONNECTOR_A_TOKEN" in argv
    assert not any("=" in a and a.startswith("CONNECTOR_") for a in argv)


def _docker_request(tmp_path: Path) -> CastRequest:
    bundle = make_bundle(
        tmp_path / "b",
        [{"uses": "shell", "name": "main", "run": "steps/main.sh"}],
        {"steps/main.sh": "#!/bin/sh\necho hi\n"},
        runtime={"execution": "docker", "docker_image": "acme/img:1"},
    )
    return CastRequest(bundle_dir=bundle, manifest=load_manifest(bundle), input={})


def test_missing_docker_client_is_engine_unavailable(tmp_path: Path) -> None:
    runtime = DockerRuntime(DockerOptions(binary="spell-no-such-docker"))
    with pytest.raises(EngineUnavailable) as info:
        runtime.run(_docker_request(tmp_path))
    assert info.value.code == "ENGINE_UNAVAILABLE"


def test_client_without_a_daemon_is_engine_unavailable(tmp_path: Path) -> None:
    fake = tmp_path / "fake-docker"
    fake.write_text(
        "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2\n"
        "exit 125\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(EngineUnavailable) as info:
        DockerRuntime(DockerOptions(binary=str(fake))).run(_docker_request(tmp_path))
    assert "Cannot connect" in info.value.details["reason"]


def test_runner_json_line_maps_onto_the_cast_result(tmp_path: Path) -> None:
    # a stand-in client that answers like a container running spell-runner would
    fake = tmp_path / "fake-docker"
    line = json.dumps(
        {"success": True, "outcome": "SUCCEEDED", "outputs": {"step.main.stdout": "hi\n"}, "steps": []}
    )
    (tmp_path / "line.json").write_text(line + "\n")
    fake.write_text(f"#!/bin/sh\necho 'pulling…'\ncat '{tmp_path / 'line.json'}'\n")
    fake.chmod(0o755)
    result = DockerRuntime(DockerOptions(binary=str(fake))).run(_docker_request(tmp_path))
    assert result.outcome == "SUCCEEDED"
    assert result.output == {"step.main.stdout": "hi\n"}


def test_garbage_runner_output_is_an_internal_outcome() -> None:
    assert parse_runner_output("not json\n").outcome == "INTERNAL"
    assert parse_runner_output('{"success": false, "error": "boom"}').message == "boom"


def test_a_result_line_nested_100000_deep_is_invalid_output_not_a_crash() -> None:
    deep = '{"success": true, "outputs": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    result = parse_runner_output(deep + "\n")
    assert result.outcome == "FAILED"
    assert result.details["code"] == "OUTPUT_INVALID"
    fine = '{"success": true, "outputs": {"x": ' + "[" * 100 + "]" * 100 + "}}"
    assert parse_runner_output(fine).outcome == "SUCCEEDED"


def test_real_docker_client_here_reports_engine_unavailable(tmp_path: Path) -> None:
    if not any(os.access(Path(p) / "docker", os.X_OK) for p in os.environ.get("PATH", "").split(":") if p):
        pytest.skip("no docker client installed on this machine")
    with pytest.raises(EngineUnavailable):
        DockerRuntime().run(_docker_request(tmp_path))


def test_cancel_kills_the_container_by_name(tmp_path: Path) -> None:
    # a stand-in client: `run` blocks until killed, `kill NAME` records the name it was given
    fake = tmp_path / "fake-docker"
    fake.write_text(
        f'#!/bin/sh\nif [ "$1" = kill ]; then echo "$2" > {tmp_path}/killed; exit 0; fi\n'
        f"touch {tmp_path}/running\nexec sleep 300\n"
    )
    fake.chmod(0o755)
    cancel = threading.Event()
    cancel.set()
    request = replace(_docker_request(tmp_path), cancel=cancel)
    result = DockerRuntime(DockerOptions(binary=str(fake))).run(request)
    assert result.outcome == "CANCELED"
    assert (tmp_path / "killed").read_text().startswith("spell-")


def test_docker_timeout_kills_the_container(tmp_path: Path) -> None:
    fake = tmp_path / "fake-docker"
    fake.write_text(
        f'#!/bin/sh\nif [ "$1" = kill ]; then echo "$2" > {tmp_path}/killed; exit 0; fi\nexec sleep 300\n'
    )
    fake.chmod(0o755)
    result = DockerRuntime(DockerOptions(binary=str(fake), timeout_ms=200)).run(_docker_request(tmp_path))
    assert result.outcome == "TIMEOUT"
    assert (tmp_path / "killed").exists()
