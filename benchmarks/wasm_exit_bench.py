"""Cost of exit safety in the WASM runtime: output that wasmtime may hold past the interpreter's end.

Run: .venv/bin/python benchmarks/wasm_exit_bench.py [--iterations 2000]

Interleaves, in one loop, a cast of examples/spells/hello-wasm with output captured as shipped
(memory files written by wasmtime with libc, no Python callback, nothing to wait for at exit) and
with the fallback Python sinks (used where memory files cannot be made: callbacks registered until
wasmtime releases them, store closed when the cast ends). Also: how long after a fallback cast
wasmtime releases its sinks, and what the exit hook costs. Targets: a shipped cast is not slower
than a fallback cast up to the release of its sinks (until then, exit would have to wait), and the
exit hook costs <= 10 ms once per process.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spell.bundle.loaders import load_manifest
from spell.runtimes.base import CastRequest, Outcome
from spell.runtimes.wasm import WasmRuntime, capture
from spell.runtimes.wasm.capture import wait_released
from spell.runtimes.wasm.shutdown import quiesce

HELLO = Path(__file__).resolve().parents[1] / "examples" / "spells" / "hello-wasm"


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
    patchable: Any = capture  # the fallback turns off the memory-file sinks open_output picks
    native = patchable.NATIVE_OUTPUT
    if not native:
        raise SystemExit("memory files are not available here: every cast already uses the fallback")

    def shipped() -> None:
        _check(runtime.run(request).outcome)

    def fallback() -> None:
        patchable.NATIVE_OUTPUT = False
        try:
            _check(runtime.run(request).outcome)
        finally:
            patchable.NATIVE_OUTPUT = native

    for _ in range(50):  # warm the module cache and both paths
        shipped()
        fallback()
    times: dict[str, list[float]] = {"shipped": [], "fallback": [], "release": [], "whole": []}
    for _ in range(n):
        times["shipped"].append(_timed(shipped))
        cast = _timed(fallback)
        release = _timed(lambda: wait_released(5.0))
        times["fallback"].append(cast)
        times["release"].append(release)
        times["whole"].append(cast + release)
    print(f"WASM exit safety, hello module, {n} interleaved iterations (ms)")
    print(f"{'measure':<62}{'median':>9}{'p99':>9}")
    rows = [
        ("cast, shipped (memory files, no Python callback)", "shipped"),
        ("cast, fallback (Python sinks, released by wasmtime)", "fallback"),
        ("wait after a fallback cast until wasmtime released its sinks", "release"),
        ("fallback cast up to the release of its sinks", "whole"),
    ]
    for label, key in rows:
        values = sorted(times[key])
        print(f"{label:<62}{statistics.median(values):>9.3f}{values[int(len(values) * 0.99)]:>9.3f}")
    gain = statistics.median(times["whole"]) - statistics.median(times["shipped"])
    print(
        f"shipped faster than the fallback up to its release (median): {gain:.3f} ms: "
        f"{'PASS' if gain >= 0 else 'FAIL'}"
    )
    hook = _timed(quiesce)
    print(
        f"exit hook (quiesce: cancel, join ticker, wait for releases): {hook:.3f} ms, target <= 10: "
        f"{'PASS' if hook <= 10 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
