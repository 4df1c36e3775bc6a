"""Cost of exit safety in the WASM runtime: output sinks released before finalization.

Run: .venv/bin/python benchmarks/wasm_exit_bench.py [--iterations 2000]

Interleaves, in one loop, a cast of examples/spells/hello-wasm with the runtime as shipped (own
output callbacks registered until wasmtime releases them, store closed when the cast ends) and the
baseline wiring (wasmtime-py's ``stdout_custom``/``stderr_custom``, whose finalizers nothing waits
for) — the wiring that could abort at exit. A successful cast's store is freed when the run
returns either way. Also: how long after a cast wasmtime releases its sinks, and what the exit
hook costs. Target: overhead over the baseline <= 0.02 ms per cast.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasmtime

from spell.bundle.loaders import load_manifest
from spell.runtimes.base import CastRequest, Outcome
from spell.runtimes.wasm import WasmRuntime, sandbox
from spell.runtimes.wasm.capture import wait_released
from spell.runtimes.wasm.shutdown import quiesce

HELLO = Path(__file__).resolve().parents[1] / "examples" / "spells" / "hello-wasm"


def _baseline_wiring(wasi: wasmtime.WasiConfig, *, stdout: Any, stderr: Any) -> None:
    wasi.stdout_custom = stdout.write
    wasi.stderr_custom = stderr.write


def _check(outcome: Outcome) -> None:
    if outcome is not Outcome.SUCCEEDED:
        raise SystemExit(f"the cast ended {outcome}")


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=2000)
    n = parser.parse_args().iterations
    runtime = WasmRuntime()
    request = CastRequest(bundle_dir=HELLO, manifest=load_manifest(HELLO), input={"name": "bench"})
    patchable: Any = sandbox  # the baseline swaps the wiring function the sandbox calls
    shipped_connect = patchable.connect_output

    def shipped() -> None:
        _check(runtime.run(request).outcome)

    def baseline() -> None:
        patchable.connect_output = _baseline_wiring
        try:
            _check(runtime.run(request).outcome)
        finally:
            patchable.connect_output = shipped_connect

    for _ in range(50):  # warm the module cache and both paths
        shipped()
        baseline()
    times: dict[str, list[float]] = {"shipped": [], "baseline": [], "release": []}
    for _ in range(n):
        times["shipped"].append(_timed(shipped))
        times["release"].append(_timed(lambda: wait_released(5.0)))
        times["baseline"].append(_timed(baseline))
    print(f"WASM exit safety, hello module, {n} interleaved iterations (ms)")
    print(f"{'measure':<58}{'median':>9}{'p99':>9}")
    rows = [
        ("cast, shipped (own sinks, store closed at the end)", "shipped"),
        ("cast, baseline (wasmtime-py's sinks)", "baseline"),
        ("wait after a shipped cast until wasmtime released its sinks", "release"),
    ]
    for label, key in rows:
        values = sorted(times[key])
        print(f"{label:<58}{statistics.median(values):>9.3f}{values[int(len(values) * 0.99)]:>9.3f}")
    overhead = statistics.median(times["shipped"]) - statistics.median(times["baseline"])
    print(
        f"overhead over the baseline (median): {overhead:.3f} ms, target <= 0.02: "
        f"{'PASS' if overhead <= 0.02 else 'FAIL'}"
    )
    print(f"exit hook (quiesce: cancel, join ticker, wait for releases): {_timed(quiesce):.3f} ms")


if __name__ == "__main__":
    main()
