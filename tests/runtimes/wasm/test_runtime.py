"""A well-behaved module: output, usage, isolation between casts, limits and the cache."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from spell.bundle.manifest import SpellManifest, WasmSpec
from spell.config.wasm import WasmSettings
from spell.errors import InvalidInput
from spell.runtimes.base import Limits, Outcome
from spell.runtimes.wasm import WasmRuntime, effective_limits
from tests.runtimes.wasm.conftest import MakeCast


def test_hello_echoes_its_input_as_json_with_measured_usage(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = runtime.run(make_cast("hello", input={"name": "world"}))
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert result.output == {"greeting": "hello", "input": {"name": "world"}}
    assert result.exit_code == 0
    assert result.usage.fuel > 0
    assert result.usage.peak_memory_bytes == 2 * 65536
    assert result.usage.stdout_bytes == len(result.stdout.encode())
    assert result.usage.wall_ms > 0
    assert result.usage.network_requests == 0


def test_text_output_is_returned_as_text_when_the_manifest_says_so(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = runtime.run(make_cast("not_json", output_format="text"))
    assert result.outcome is Outcome.SUCCEEDED
    assert result.output == "hello, not json\n"


def test_a_non_wasm_manifest_is_refused_without_running(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    request = make_cast("hello")
    manifest = SpellManifest.from_dict(
        {**request.manifest.to_dict(), "runtime": {"execution": "builtin", "builtin": "echo"}}
    )
    result = runtime.run(replace(request, manifest=manifest))
    assert result.outcome is Outcome.FAILED
    assert result.details["reason"] == "not_wasm"


def test_a_missing_module_file_fails_with_its_reason(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    request = make_cast("hello", module="missing.wasm")
    result = runtime.run(request)
    assert result.outcome is Outcome.FAILED
    assert result.details["reason"] == "module_missing"


def test_a_module_path_outside_the_bundle_is_refused(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast("hello", module="../../etc/passwd"))
    assert result.outcome is Outcome.FAILED
    assert result.details["reason"] == "bad_path"


def test_a_rebuilt_module_file_is_picked_up_by_the_next_cast(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    request = make_cast("hello", input=1)
    assert runtime.run(request).outcome is Outcome.SUCCEEDED
    from tests.runtimes.wasm.conftest import compile_wat

    (request.bundle_dir / "spell.wasm").write_bytes(compile_wat("unreachable"))
    assert runtime.run(request).outcome is Outcome.TRAP


def test_casts_share_no_state(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    request = make_cast("hello", input="first")
    first = runtime.run(request)
    second = runtime.run(replace(request, input="second"))
    assert first.output["input"] == "first"
    assert second.output["input"] == "second"


def test_a_cancel_set_before_the_start_ends_the_cast_unrun(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    cancel = threading.Event()
    cancel.set()
    result = runtime.run(replace(make_cast("hello"), cancel=cancel))
    assert result.outcome is Outcome.CANCELED
    assert result.usage.fuel == 0


def test_manifest_limits_are_capped_by_the_operator_maxima() -> None:
    maxima = WasmSettings(
        max_timeout_ms=1000, max_fuel=500, max_memory_bytes=8 << 20, max_stdout_bytes=1 << 20
    )
    spec = WasmSpec(timeout_ms=60_000, fuel=10**12, max_memory_mb=1024, max_output_mb=50)
    limits = effective_limits(spec, Limits(), maxima)
    assert (limits.timeout_ms, limits.fuel, limits.max_memory_bytes, limits.max_stdout_bytes) == (
        1000,
        500,
        8 << 20,
        1 << 20,
    )


def test_manifest_limits_below_the_maxima_are_kept_and_absent_ones_default() -> None:
    spec = WasmSpec(timeout_ms=250, max_memory_mb=2, max_output_mb=0.5)
    limits = effective_limits(spec, Limits(fuel=None), WasmSettings())
    assert limits.timeout_ms == 250
    assert limits.max_memory_bytes == 2 << 20
    assert limits.max_stdout_bytes == 512 * 1024
    assert limits.fuel == WasmSettings().max_fuel


def test_the_disk_cache_serves_a_second_runtime_without_compiling(
    make_cast: MakeCast, tmp_path: Path
) -> None:
    settings = WasmSettings(cache_dir=tmp_path / "cache")
    request = make_cast("hello", input=1)
    first = WasmRuntime(settings)
    assert first.run(request).outcome is Outcome.SUCCEEDED
    assert first.cache.stats.compiles == 1
    second = WasmRuntime(settings)
    assert second.run(request).outcome is Outcome.SUCCEEDED
    assert (second.cache.stats.compiles, second.cache.stats.disk_hits) == (0, 1)
    first.close()
    second.close()


def test_a_corrupt_disk_cache_entry_is_recompiled(make_cast: MakeCast, tmp_path: Path) -> None:
    settings = WasmSettings(cache_dir=tmp_path / "cache")
    request = make_cast("hello", input=1)
    WasmRuntime(settings).run(request)
    (entry,) = (tmp_path / "cache" / "wasm").glob("*.cwasm")
    entry.write_bytes(entry.read_bytes()[:-100] + b"\x00" * 100)
    runtime = WasmRuntime(settings)
    assert runtime.run(request).outcome is Outcome.SUCCEEDED
    assert (runtime.cache.stats.rejected_disk_entries, runtime.cache.stats.compiles) == (1, 1)
    # the rewritten entry is good again
    third = WasmRuntime(settings)
    assert third.run(request).outcome is Outcome.SUCCEEDED
    assert third.cache.stats.disk_hits == 1


def test_a_foreign_disk_cache_entry_with_a_matching_checksum_is_recompiled(
    make_cast: MakeCast, tmp_path: Path
) -> None:
    import hashlib

    settings = WasmSettings(cache_dir=tmp_path / "cache")
    request = make_cast("hello", input=1)
    WasmRuntime(settings).run(request)
    (entry,) = (tmp_path / "cache" / "wasm").glob("*.cwasm")
    junk = b"not a wasmtime artifact" * 10
    entry.write_bytes(junk)
    entry.with_suffix(".sha256").write_text(hashlib.sha256(junk).hexdigest())
    runtime = WasmRuntime(settings)
    assert runtime.run(request).outcome is Outcome.SUCCEEDED
    assert (runtime.cache.stats.rejected_disk_entries, runtime.cache.stats.compiles) == (1, 1)


def test_a_missing_checksum_file_means_recompile(make_cast: MakeCast, tmp_path: Path) -> None:
    settings = WasmSettings(cache_dir=tmp_path / "cache")
    request = make_cast("hello", input=1)
    WasmRuntime(settings).run(request)
    (sidecar,) = (tmp_path / "cache" / "wasm").glob("*.sha256")
    sidecar.unlink()
    runtime = WasmRuntime(settings)
    assert runtime.run(request).outcome is Outcome.SUCCEEDED
    assert runtime.cache.stats.compiles == 1


def test_the_memory_cache_is_bounded(make_cast: MakeCast) -> None:
    runtime = WasmRuntime(WasmSettings(module_cache_entries=1))
    hello = make_cast("hello", input=1)
    other = make_cast("not_json", output_format="text")
    for request in (hello, other, hello):
        runtime.run(request)
    assert runtime.cache.stats.compiles == 3
    runtime.run(hello)
    assert runtime.cache.stats.memory_hits == 1
    runtime.close()


def test_a_module_file_deleted_after_a_cast_is_reported_missing(
    runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    request = make_cast("hello", input=1)
    assert runtime.run(request).outcome is Outcome.SUCCEEDED
    (request.bundle_dir / "spell.wasm").unlink()
    result = runtime.run(request)
    assert result.outcome is Outcome.FAILED
    assert result.details["reason"] == "module_missing"


def test_an_unwritable_disk_cache_only_costs_speed(make_cast: MakeCast, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    runtime = WasmRuntime(WasmSettings(cache_dir=blocker))
    assert runtime.run(make_cast("hello", input=1)).outcome is Outcome.SUCCEEDED
    runtime.close()


def test_the_cache_refuses_bytes_that_do_not_match_their_digest(runtime: WasmRuntime) -> None:
    import wasmtime

    from tests.runtimes.wasm.conftest import compile_wat

    with pytest.raises(wasmtime.WasmtimeError):
        runtime.cache.get_by_digest("0" * 64, lambda: compile_wat("hello"))


def test_integers_past_64_bits_survive_the_round_trip(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = runtime.run(make_cast("hello", input={"big": 2**70}))
    assert result.outcome is Outcome.SUCCEEDED
    assert result.output == {"greeting": "hello", "input": {"big": 2**70}}


def test_concurrent_casts_each_get_their_own_output(runtime: WasmRuntime, make_cast: MakeCast) -> None:
    from concurrent.futures import ThreadPoolExecutor

    base = make_cast("hello")
    requests = [replace(base, input={"n": n}) for n in range(160)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(runtime.run, requests))
    assert [r.output["input"]["n"] for r in results] == list(range(160))


def test_the_epoch_ticker_stops_when_idle_and_restarts_for_the_next_cast(make_cast: MakeCast) -> None:
    from spell.runtimes.wasm.engine import EpochTicker

    runtime = WasmRuntime()
    idle_ticker = EpochTicker(runtime.engine, tick_s=0.001, linger_s=0.0)
    runtime._ticker = idle_ticker  # a ticker that ends as soon as no cast runs
    assert runtime.run(make_cast("hello", input=1)).outcome is Outcome.SUCCEEDED
    thread = idle_ticker._thread
    if thread is not None:
        thread.join(timeout=5)
    assert not idle_ticker.running
    assert runtime.run(make_cast("infinite_loop", fuel=10**15, timeout_ms=50)).outcome is Outcome.TIMEOUT
    runtime.close()


@pytest.mark.parametrize("bad", [{1, 2}, {"k": object()}, {("tuple", "key"): 1}])
def test_an_input_that_is_not_json_is_the_callers_error(
    runtime: WasmRuntime, make_cast: MakeCast, bad: object
) -> None:
    with pytest.raises(InvalidInput) as info:
        runtime.run(make_cast("hello", input=bad))
    assert info.value.code == "VALIDATION_ERROR"


def test_runtimes_with_the_same_config_share_one_engine() -> None:
    assert WasmRuntime().engine is WasmRuntime().engine
    assert WasmRuntime(WasmSettings(max_stack_bytes=512 * 1024)).engine is not WasmRuntime().engine


def test_a_closed_runtime_still_enforces_the_wall_clock(make_cast: MakeCast) -> None:
    runtime = WasmRuntime()
    runtime.close()
    result = runtime.run(make_cast("infinite_loop", fuel=10**15, timeout_ms=50))
    assert result.outcome is Outcome.TIMEOUT


@pytest.mark.parametrize(
    ("source", "outcome"),
    [("hello", Outcome.SUCCEEDED), ("unreachable", Outcome.TRAP), ("fail_with_stderr", Outcome.FAILED)],
)
def test_the_public_wasmtime_call_path_gives_the_same_outcomes(
    runtime: WasmRuntime, make_cast: MakeCast, monkeypatch: pytest.MonkeyPatch, source: str, outcome: Outcome
) -> None:
    from spell.runtimes.wasm import calls

    monkeypatch.setattr(calls, "_FAST", False)
    result = runtime.run(make_cast(source, input=1))
    assert result.outcome is outcome
    assert result.usage.peak_memory_bytes > 0
