"""What a workflow spell's manifest may say, and the time limit its casts get."""

from __future__ import annotations

from typing import Any

import pytest

from spell.bundle.manifest import ManifestValidationError, SpellManifest
from spell.config.wasm import WasmSettings
from spell.runtimes.limits import limits_for


def _manifest(runtime: dict[str, Any]) -> SpellManifest:
    return SpellManifest.from_dict({"id": "acme/ci", "version": "1.0.0", "name": "ci", "runtime": runtime})


def test_a_workflow_spell_names_its_file_and_takes_the_defaults() -> None:
    spec = _manifest({"execution": "workflow", "workflow": {"file": "build.yml"}}).runtime.workflow
    assert spec is not None
    assert (spec.file, spec.ref, spec.inputs_from, spec.timeout_ms) == (
        "build.yml",
        "main",
        "inputs",
        600_000,
    )


def test_execution_workflow_needs_its_workflow_block() -> None:
    with pytest.raises(ManifestValidationError) as refused:
        _manifest({"execution": "workflow"})
    assert "runtime.workflow" in refused.value.message


@pytest.mark.parametrize(
    "workflow",
    [
        {"file": "../../etc/passwd.yml"},
        {"file": "build.json"},
        {"file": ".github/workflows/build.yml"},
        {"file": "build.yml", "ref": "bad ref"},
        {"file": "build.yml", "ref": ""},
        {"file": "build.yml", "timeout_ms": 10},
        {"file": "build.yml", "timeout_ms": 7 * 3_600_000},
        {"file": "build.yml", "unknown": 1},
    ],
)
def test_a_malformed_workflow_block_is_refused_with_its_path(workflow: dict[str, Any]) -> None:
    with pytest.raises(ManifestValidationError) as refused:
        _manifest({"execution": "workflow", "workflow": workflow})
    assert refused.value.path.startswith("runtime.workflow")


def test_a_workflow_cast_runs_under_the_manifest_s_time_limit() -> None:
    manifest = _manifest(
        {"execution": "workflow", "workflow": {"file": "build.yml", "timeout_ms": 1_800_000}}
    )
    assert limits_for(manifest, WasmSettings()).timeout_ms == 1_800_000
