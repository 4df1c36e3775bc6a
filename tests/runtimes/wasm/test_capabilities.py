"""Files and environment: nothing unless declared; read-only resources/, per-cast scratch folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.bundle.manifest import Capabilities
from spell.runtimes.base import Outcome
from spell.runtimes.wasm import WasmRuntime
from spell.runtimes.wasm.capabilities import CapabilityError, plan_grants
from tests.runtimes.wasm.conftest import MakeCast

ERRNO_BADF = 8
READ = Capabilities(fs_read=("resources/",))
WRITE = Capabilities(fs_write=("out",))


def test_reading_etc_passwd_without_fs_read_finds_no_folder_at_all(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = runtime.run(make_cast("open_path", input="r:/etc/passwd"))
    assert result.outcome is Outcome.FAILED
    assert result.exit_code == ERRNO_BADF
    assert "root:" not in result.stdout


@pytest.mark.parametrize("path", ["../../../../etc/passwd", "/etc/passwd", "../spell.wasm"])
def test_paths_escaping_resources_are_refused(runtime: WasmRuntime, make_cast: MakeCast, path: str) -> None:
    result = runtime.run(make_cast("open_path", input=f"r:{path}", policy=READ, resources={"words.txt": "a"}))
    assert result.outcome is Outcome.FAILED
    assert result.exit_code not in (0, None)
    assert "opened" not in result.stdout


def test_resources_are_readable_when_declared(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(
        make_cast("open_path", input="r:words.txt", policy=READ, resources={"words.txt": "a"})
    )
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert result.output == {"opened": True}


def test_resources_are_read_only(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    request = make_cast("open_path", input="w:new.txt", policy=READ, resources={"words.txt": "a"})
    result = runtime.run(request)
    assert result.outcome is Outcome.FAILED
    assert not (request.bundle_dir / "resources" / "new.txt").exists()


def test_a_written_file_becomes_an_artifact(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    request = make_cast("open_path", input="w:report.txt", policy=WRITE)
    result = runtime.run(request)
    assert result.outcome is Outcome.SUCCEEDED, result.message
    (artifact,) = result.artifacts
    assert artifact.name == "out/report.txt"
    assert artifact.size == 1
    assert artifact.path.read_bytes() == b"x"
    assert request.work_dir is not None
    assert artifact.path.is_relative_to(request.work_dir)


@pytest.mark.parametrize("path", ["../escape.txt", "../../escape.txt", "/tmp/escape.txt"])
def test_writing_outside_scratch_is_refused(runtime: WasmRuntime, make_cast: MakeCast, path: str) -> None:
    request = make_cast("open_path", input=f"w:{path}", policy=WRITE)
    result = runtime.run(request)
    assert result.outcome is Outcome.FAILED
    assert result.artifacts == []
    assert request.work_dir is not None
    assert not (request.work_dir / "escape.txt").exists()
    assert not (request.work_dir.parent / "escape.txt").exists()


def test_fs_write_without_a_work_dir_gets_a_private_scratch(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    from dataclasses import replace

    request = replace(make_cast("open_path", input="w:r.txt", policy=WRITE), work_dir=None)
    result = runtime.run(request)
    assert result.outcome is Outcome.SUCCEEDED
    assert result.artifacts[0].path.name == "r.txt"


def test_artifacts_over_the_cap_are_an_output_limit(make_cast: MakeCast) -> None:
    from spell.config.wasm import WasmSettings

    runtime = WasmRuntime(WasmSettings(max_artifact_bytes=0))
    result = runtime.run(make_cast("open_path", input="w:r.txt", policy=WRITE))
    assert result.outcome is Outcome.OUTPUT_LIMIT
    assert result.artifacts == []
    runtime.close()


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        (Capabilities(fs_read=("secrets/",)), "fs_read_outside_resources"),
        (Capabilities(fs_read=("../resources",)), "fs_read_bad_path"),
        (Capabilities(fs_read=("/etc",)), "fs_read_bad_path"),
        (Capabilities(fs_write=("a/b",)), "fs_write_bad_path"),
        (Capabilities(fs_write=("resources",)), "fs_write_bad_path"),
        (Capabilities(fs_write=("..",)), "fs_write_bad_path"),
    ],
)
def test_undeclarable_capabilities_are_policy_violations(
    runtime: WasmRuntime, make_cast: MakeCast, policy: Capabilities, reason: str
) -> None:
    result = runtime.run(make_cast("hello", policy=policy, resources={"a.txt": "a"}))
    assert result.outcome is Outcome.POLICY_VIOLATION
    assert result.details["reason"] == reason
    assert result.violations[0]["reason"] == reason


def test_fs_read_without_a_resources_folder_is_a_policy_violation(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = runtime.run(make_cast("hello", policy=READ))
    assert result.details["reason"] == "fs_read_missing"


def test_only_declared_env_vars_that_the_caster_supplied_are_passed(tmp_path: Path) -> None:
    policy = Capabilities(env_vars=("API_REGION", "MISSING"))
    grants = plan_grants(policy, bundle_dir=tmp_path, scratch=None, env={"API_REGION": "eu", "HOME": "/root"})
    assert grants.env == {"API_REGION": "eu"}


def test_fs_write_needs_a_scratch_folder(tmp_path: Path) -> None:
    with pytest.raises(CapabilityError) as info:
        plan_grants(WRITE, bundle_dir=tmp_path, scratch=None, env={})
    assert info.value.reason == "fs_write_unavailable"
