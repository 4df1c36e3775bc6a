"""The hostile corpus: each bad module ends with its own outcome, the host unharmed, the next cast fine."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
import wasmtime

from spell.kit.json_depth import nests_beyond
from spell.runtimes.base import MAX_OUTPUT_DEPTH, CastRequest, CastResult, Outcome
from spell.runtimes.wasm import WasmRuntime
from tests.fixtures.bundles import nested_json_wat
from tests.runtimes.wasm.conftest import MakeCast


def _then_hello_works(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    after = runtime.run(make_cast("hello", input={"after": True}))
    assert after.outcome is Outcome.SUCCEEDED
    assert after.output == {"greeting": "hello", "input": {"after": True}}


def test_an_infinite_loop_runs_out_of_fuel(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast("infinite_loop", fuel=5_000_000))
    assert result.outcome is Outcome.FUEL_EXHAUSTED
    assert result.usage.fuel == 5_000_000
    _then_hello_works(runtime, make_cast)


def test_an_infinite_loop_with_fuel_to_spare_hits_the_wall_clock(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = runtime.run(make_cast("infinite_loop", fuel=10**15, timeout_ms=100))
    assert result.outcome is Outcome.TIMEOUT
    assert 100 <= result.usage.wall_ms < 2000
    _then_hello_works(runtime, make_cast)


def test_a_budgeted_attempt_stops_at_its_budget_under_a_longer_manifest_limit(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    request = replace(make_cast("infinite_loop", fuel=10**15, timeout_ms=30_000), within_s=0.05)
    result = runtime.run(request)
    assert result.outcome is Outcome.TIMEOUT
    assert 50 <= result.usage.wall_ms < 2000  # the budget, not the manifest's 30 s
    _then_hello_works(runtime, make_cast)


def test_a_memory_grow_bomb_stops_at_the_memory_limit(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast("memory_bomb", max_memory_mb=8))
    assert result.outcome is Outcome.MEMORY_LIMIT
    assert result.usage.peak_memory_bytes <= 8 * 1024 * 1024
    _then_hello_works(runtime, make_cast)


def test_a_module_asking_for_more_initial_memory_than_allowed_is_a_memory_limit(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = runtime.run(make_cast("huge_initial_memory", max_memory_mb=16))
    assert result.outcome is Outcome.MEMORY_LIMIT
    _then_hello_works(runtime, make_cast)


def test_unbounded_recursion_traps_on_the_stack_limit(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast("recursion"))
    assert result.outcome is Outcome.TRAP
    assert result.details["trap_code"] == "STACK_OVERFLOW"
    _then_hello_works(runtime, make_cast)


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_an_output_flood_stops_at_the_output_limit(
    runtime: WasmRuntime, make_cast: MakeCast, stream: str
) -> None:
    result = runtime.run(make_cast(f"{stream}_flood", max_output_mb=1, fuel=10**15, timeout_ms=10_000))
    assert result.outcome is Outcome.OUTPUT_LIMIT
    kept = result.stdout if stream == "stdout" else result.stderr
    limit = 1024 * 1024 if stream == "stdout" else runtime.settings.max_stderr_bytes
    assert len(kept.encode()) == limit
    assert result.usage.wall_ms < 5000
    _then_hello_works(runtime, make_cast)


def test_a_trap_reports_its_message(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast("unreachable"))
    assert result.outcome is Outcome.TRAP
    assert result.details["trap_code"] == "UNREACHABLE"
    assert "unreachable" in result.message


def test_a_non_zero_exit_fails_with_a_stderr_excerpt(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast("fail_with_stderr"))
    assert result.outcome is Outcome.FAILED
    assert result.exit_code == 3
    assert "boom: the input was wrong" in result.message
    assert result.details["reason"] == "exit_code"


def test_a_module_importing_unknown_functions_is_not_linked(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = runtime.run(make_cast("unknown_import"))
    assert result.outcome is Outcome.FAILED
    assert result.details["reason"] == "unknown_import"
    _then_hello_works(runtime, make_cast)


def test_a_malformed_module_is_refused(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast(b"\x00asm\x01\x00\x00\x00\xff\xff garbage"))
    assert result.outcome is Outcome.FAILED
    assert result.details["reason"] == "module_invalid"
    _then_hello_works(runtime, make_cast)


def test_a_50_mb_module_is_refused_before_it_is_read(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    request = make_cast(b"")
    with (request.bundle_dir / "spell.wasm").open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: the size is what matters
    result = runtime.run(request)
    assert result.outcome is Outcome.FAILED
    assert result.details["reason"] == "module_too_large"
    _then_hello_works(runtime, make_cast)


def test_output_that_is_not_json_fails(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast("not_json"))
    assert result.outcome is Outcome.FAILED
    assert result.details["reason"] == "output_not_json"
    assert result.stdout == "hello, not json\n"


def test_a_module_sleeping_for_an_hour_times_out_on_the_wall_clock(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = runtime.run(make_cast("sleeper", timeout_ms=150))
    assert result.outcome is Outcome.TIMEOUT
    assert result.usage.wall_ms < 2000
    _then_hello_works(runtime, make_cast)


def test_a_short_sleep_completes_with_its_clock_event(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast("short_sleep"))
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert result.output == {"slept": 7}
    assert result.usage.wall_ms >= 20


def test_a_cancel_stops_a_spinning_guest_at_once(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    cancel = threading.Event()
    request = replace(make_cast("infinite_loop", fuel=10**15, timeout_ms=20_000), cancel=cancel)
    trigger = threading.Timer(0.05, cancel.set)  # fires while the guest spins
    trigger.start()
    result = runtime.run(request)
    trigger.join()
    assert result.outcome is Outcome.CANCELED
    assert 50 <= result.usage.wall_ms < 2000
    _then_hello_works(runtime, make_cast)


def test_a_cancel_wakes_a_sleeping_guest(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    cancel = threading.Event()
    request = replace(make_cast("sleeper", timeout_ms=20_000), cancel=cancel)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(runtime.run, request)
        cancel.set()
        result = future.result(timeout=10)
    assert result.outcome is Outcome.CANCELED


def _hostile_requests(make_cast: MakeCast) -> list[tuple[CastRequest, Outcome]]:
    return [
        (make_cast("infinite_loop", fuel=20_000_000), Outcome.FUEL_EXHAUSTED),
        (make_cast("infinite_loop", fuel=10**15, timeout_ms=200), Outcome.TIMEOUT),
        (make_cast("memory_bomb", max_memory_mb=8), Outcome.MEMORY_LIMIT),
        (make_cast("recursion"), Outcome.TRAP),
        (make_cast("stdout_flood", max_output_mb=1, fuel=10**15), Outcome.OUTPUT_LIMIT),
        (make_cast("stderr_flood", fuel=10**15), Outcome.OUTPUT_LIMIT),
        (make_cast("sleeper", timeout_ms=200), Outcome.TIMEOUT),
        (make_cast("hello", input=[1, 2, 3]), Outcome.SUCCEEDED),
    ]


def test_limits_hold_under_eight_concurrent_hostile_casts(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    cases = _hostile_requests(make_cast) * 2
    with ThreadPoolExecutor(8) as pool:
        results: list[CastResult] = list(pool.map(runtime.run, [request for request, _ in cases]))
    assert [r.outcome for r in results] == [expected for _, expected in cases]
    for result in results:
        assert result.usage.peak_memory_bytes <= 8 * 1024 * 1024 or result.outcome is not Outcome.MEMORY_LIMIT
        assert result.usage.wall_ms < 10_000
    _then_hello_works(runtime, make_cast)


def test_the_work_dir_is_untouched_without_fs_write(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    request = make_cast("hello")
    runtime.run(request)
    assert request.work_dir is not None
    assert not Path(request.work_dir).exists()


def test_a_module_without_start_is_not_a_command(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast("no_start"))
    assert result.outcome is Outcome.FAILED
    assert result.details["reason"] == "no_start"


def test_poll_oneoff_without_subscriptions_is_einval(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast("poll_variants", input=0))
    assert result.exit_code == 28  # WASI EINVAL


def test_poll_oneoff_reports_fd_subscriptions_ready_at_once(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = runtime.run(make_cast("poll_variants", input=1))
    assert result.exit_code == 41  # one event


def test_a_table_over_the_limit_is_refused_at_instantiation(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = runtime.run(make_cast("huge_table"))
    assert result.outcome is Outcome.MEMORY_LIMIT
    assert result.details["reason"] == "table_limit"


def test_a_trap_during_instantiation_is_a_trap(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast("start_trap"))
    assert result.outcome is Outcome.TRAP
    assert result.details["trap_code"] == "UNREACHABLE"


def test_a_wasi_import_with_the_wrong_signature_is_not_linked(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = runtime.run(make_cast("bad_import_type"))
    assert result.outcome is Outcome.FAILED
    assert result.details["reason"] == "bad_import"
    assert "fd_write" in result.message


def test_a_failure_far_below_the_memory_cap_is_not_blamed_on_memory(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = runtime.run(make_cast("unreachable", max_memory_mb=1))
    assert result.outcome is Outcome.TRAP


def test_output_nested_100000_levels_deep_is_invalid_output_not_a_crash(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = runtime.run(make_cast(wasmtime.wat2wasm(nested_json_wat(100_000))))
    assert result.outcome is Outcome.FAILED
    assert result.details["code"] == "OUTPUT_INVALID"
    assert result.details["reason"] == "output_too_deep"
    assert result.output is None
    _then_hello_works(runtime, make_cast)


def test_output_just_past_the_depth_limit_is_invalid_and_at_it_is_kept(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    over = runtime.run(make_cast(wasmtime.wat2wasm(nested_json_wat(MAX_OUTPUT_DEPTH + 1))))
    assert over.outcome is Outcome.FAILED
    assert over.details["code"] == "OUTPUT_INVALID"
    at = runtime.run(make_cast(wasmtime.wat2wasm(nested_json_wat(MAX_OUTPUT_DEPTH))))
    assert at.outcome is Outcome.SUCCEEDED, at.message
    assert not nests_beyond(at.output, MAX_OUTPUT_DEPTH)
    assert nests_beyond(at.output, MAX_OUTPUT_DEPTH - 1)


def test_output_that_is_not_json_is_invalid_output(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    assert runtime.run(make_cast("not_json")).details["code"] == "OUTPUT_INVALID"
