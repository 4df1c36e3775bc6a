"""``_start`` and the memory size read from the export record, and through wasmtime-py's public API."""

from __future__ import annotations

import pytest
import wasmtime

from spell.runtimes.base import Outcome
from spell.runtimes.wasm import WasmRuntime, calls
from tests.runtimes.wasm.conftest import MakeCast


@pytest.fixture(params=[True, False], ids=["export-record", "public-api"])
def call_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Run a test through each way of calling into the instance."""
    if request.param and not calls._FAST:
        pytest.skip("this wasmtime-py has no export records to read")
    monkeypatch.setattr(calls, "_FAST", request.param)
    return bool(request.param)


def test_start_runs_and_the_memory_size_is_measured(
    runtime: WasmRuntime, make_cast: MakeCast, call_path: bool
) -> None:
    result = runtime.run(make_cast("hello", input={"via": call_path}))
    assert result.output == {"greeting": "hello", "input": {"via": call_path}}
    assert result.usage.peak_memory_bytes == 2 * 65536  # hello declares two pages


def test_a_module_without_start_is_reported(
    runtime: WasmRuntime, make_cast: MakeCast, call_path: bool
) -> None:
    result = runtime.run(make_cast("no_start"))
    assert result.outcome is Outcome.FAILED
    assert result.details["reason"] == "no_start"


def test_a_module_without_memory_measures_none(
    runtime: WasmRuntime, make_cast: MakeCast, call_path: bool
) -> None:
    module = bytes(wasmtime.wat2wasm('(module (func (export "_start")))'))
    result = runtime.run(make_cast(module, output_format="text"))
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert result.usage.peak_memory_bytes == 0


def test_a_trap_in_start_is_raised_as_a_trap(
    runtime: WasmRuntime, make_cast: MakeCast, call_path: bool
) -> None:
    result = runtime.run(make_cast("unreachable"))
    assert result.outcome is Outcome.TRAP
    assert result.details["trap_code"] == "UNREACHABLE"
