from __future__ import annotations

import pytest

from spell.errors import InvalidInput, OutputNotFound
from spell.runtimes.host.outputs import resolve_output

OUTPUTS = {"step.a.stdout": "text\n", "step.b.json": {"items": [{"id": 7}]}}


def test_stdout_and_json_paths_resolve() -> None:
    assert resolve_output(OUTPUTS, "step.a.stdout") == "text\n"
    assert resolve_output(OUTPUTS, "step.b.json") == {"items": [{"id": 7}]}
    assert resolve_output(OUTPUTS, "step.b.json.items.0.id") == 7


@pytest.mark.parametrize("ref", ["step.c.stdout", "step.b.json.items.5", "step.a.json"])
def test_absent_outputs_raise_output_not_found(ref: str) -> None:
    with pytest.raises(OutputNotFound) as info:
        resolve_output(OUTPUTS, ref)
    assert info.value.code == "OUTPUT_NOT_FOUND"


@pytest.mark.parametrize("ref", ["a.stdout", "step.a.stderr", "step.a.stdout.x"])
def test_malformed_references_are_invalid_input(ref: str) -> None:
    with pytest.raises(InvalidInput) as info:
        resolve_output(OUTPUTS, ref)
    assert info.value.code == "VALIDATION_ERROR"
