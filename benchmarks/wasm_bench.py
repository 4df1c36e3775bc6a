"""WASM runtime benchmark: platform cast vs the raw wasmtime floor vs Extism; threads; cold start.

Run: .venv/bin/python benchmarks/wasm_bench.py [--iterations 2000]

Measurements interleave the contenders in one loop, so machine noise hits all of them alike.
1. A fresh-instance cast of examples/spells/hello-wasm with a warm module cache (median, p99).
2. The raw floor: the same module with wasmtime alone — new Store, WASI context with stdin bytes and
   a stdout callback, Linker + define_wasi, instantiate, call ``_start`` — and no platform code.
   And a tuned floor: the same, on the platform's engine configuration (pooled instance slots) with
   stdout written by libc into a memory file and the module pre-linked, as the platform does it —
   the overhead figure is measured against this one.
3. Extism (``pip install -e .[bench]``): an equivalent echo plugin, a new ``Plugin`` from one
   ``CompiledPlugin`` per call (fresh instance, like a cast).
4. Throughput with 1 and 2 threads (hello, a CPU-bound guest where the guest dominates, and that guest
   on raw wasmtime), best of 9 rounds in which the contenders alternate.
5. Cold start of a module: compile vs load from the on-disk AOT cache.
Targets: overhead over the raw floor <= 0.5 ms; not slower than Extism; 2 threads >= 1.7x one.
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from spell.bundle.loaders import load_manifest
from spell.bundle.manifest import RuntimeSpec, SpellManifest, WasmSpec
from spell.config.wasm import WasmSettings
from spell.runtimes.base import CastRequest, Outcome
from spell.runtimes.wasm import WasmRuntime
from spell.runtimes.wasm.cache import ModuleCache
from spell.runtimes.wasm.capture import NATIVE_OUTPUT
from spell.runtimes.wasm.engine import EngineConfig, make_engine

ROOT = Path(__file__).resolve().parents[1]
HELLO = ROOT / "examples" / "spells" / "hello-wasm"
RUST = ROOT / "examples" / "spells" / "dict-lookup-rust" / "spell.wasm"
C_MODULE = ROOT / "examples" / "spells" / "word-count-c" / "spell.wasm"
ASSETS = Path(__file__).resolve().parent / "assets"
INPUT = {"name": "world"}
INPUT_BYTES = json.dumps(INPUT, separators=(",", ":")).encode()
EXPECTED = b'{"greeting":"hello","input":{"name":"world"}}\n'


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark setup failed: {what}")


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


class RawFloor:
    """wasmtime alone, as a plain wasmtime-py program would run the hello module."""

    def __init__(self, wasm: bytes, *, stdin: bytes = INPUT_BYTES) -> None:
        self.stdin = stdin
        config = wasmtime.Config()
        config.consume_fuel = True
        config.epoch_interruption = True
        self.engine = wasmtime.Engine(config)
        self.module = wasmtime.Module(self.engine, wasm)

    def run(self) -> bytes:
        store = wasmtime.Store(self.engine)
        store.set_fuel(1_000_000_000)
        store.set_epoch_deadline(1_000_000)
        wasi = wasmtime.WasiConfig()
        out = bytearray()
        wasi.stdout_custom = out.extend
        vec = ffi.wasm_byte_vec_t()
        buf = (ffi.wasm_byte_t * len(self.stdin)).from_buffer_copy(self.stdin)
        ffi.wasm_byte_vec_new(ctypes.byref(vec), len(self.stdin), buf)
        ffi.wasi_config_set_stdin_bytes(wasi.ptr(), ctypes.byref(vec))
        store.set_wasi(wasi)
        linker = wasmtime.Linker(self.engine)
        linker.define_wasi()
        instance = linker.instantiate(store, self.module)
        start = instance.exports(store)["_start"]
        if isinstance(start, wasmtime.Func):
            start(store)
        return bytes(out)


class TunedFloor:
    """wasmtime alone with the platform's engine and output wiring, and none of its bookkeeping."""

    def __init__(self, wasm: bytes, *, stdin: bytes = INPUT_BYTES) -> None:
        _check(NATIVE_OUTPUT, "memory files (Linux) for the tuned floor")
        self.stdin = stdin
        self.engine = make_engine(EngineConfig(instance_slots=16))
        linker = wasmtime.Linker(self.engine)
        linker.define_wasi()
        self.pre = linker.instantiate_pre(wasmtime.Module(self.engine, wasm))
        libc = ctypes.CDLL(None)
        write_type = ctypes.CFUNCTYPE(
            ctypes.c_ssize_t, ctypes.c_void_p, ctypes.POINTER(ctypes.c_ubyte), ctypes.c_size_t
        )
        close_type = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
        self.write = write_type(ctypes.cast(libc.write, ctypes.c_void_p).value or 0)
        self.close = close_type(ctypes.cast(libc.close, ctypes.c_void_p).value or 0)

    def run(self) -> bytes:
        store = wasmtime.Store(self.engine)
        store.set_fuel(1_000_000_000)
        store.set_epoch_deadline(1_000_000)
        wasi = wasmtime.WasiConfig()
        fd = os.memfd_create("floor", os.MFD_CLOEXEC)
        ffi.wasi_config_set_stdout_custom(wasi.ptr(), self.write, ctypes.c_void_p(os.dup(fd)), self.close)
        vec = ffi.wasm_byte_vec_t()
        buf = (ffi.wasm_byte_t * len(self.stdin)).from_buffer_copy(self.stdin)
        ffi.wasm_byte_vec_new(ctypes.byref(vec), len(self.stdin), buf)
        ffi.wasi_config_set_stdin_bytes(wasi.ptr(), ctypes.byref(vec))
        store.set_wasi(wasi)
        instance = self.pre.instantiate(store)
        start = instance.exports(store)["_start"]
        if isinstance(start, wasmtime.Func):
            start(store)
        out = os.pread(fd, os.lseek(fd, 0, os.SEEK_CUR), 0)
        os.close(fd)
        store.close()
        return out


def _extism() -> Callable[[], bytes] | str:
    try:
        import extism
    except ImportError as exc:  # the bench extra is optional
        return f"extism not installed ({exc}); pip install -e '.[bench]'"
    try:
        wasm = bytes(wasmtime.wat2wasm((ASSETS / "extism_echo.wat").read_text(encoding="utf-8")))
        compiled = extism.extism.CompiledPlugin(wasm, wasi=True)
    except Exception as exc:  # a missing native library is reported, not fatal
        return f"extism unavailable: {exc}"

    def call() -> bytes:
        plugin = extism.Plugin(compiled)
        return bytes(plugin.call("echo", INPUT_BYTES))

    return call


def bench_latency(iterations: int) -> dict[str, Any]:
    runtime = WasmRuntime(WasmSettings())
    request = CastRequest(bundle_dir=HELLO, manifest=load_manifest(HELLO), input=INPUT)
    raw = RawFloor((HELLO / "spell.wasm").read_bytes())
    tuned = TunedFloor((HELLO / "spell.wasm").read_bytes())
    extism_call = _extism()
    _check(raw.run() == EXPECTED, "raw floor output")
    _check(tuned.run() == EXPECTED, "tuned floor output")
    first = runtime.run(request)
    _check(first.outcome is Outcome.SUCCEEDED, f"hello cast: {first.message}")
    _check(first.stdout.encode() == EXPECTED, "hello cast output")
    if callable(extism_call):
        _check(extism_call() == EXPECTED, "extism output")
    samples: dict[str, list[float]] = {"platform": [], "raw": [], "tuned": [], "extism": []}
    for _ in range(min(200, iterations)):  # warm-up
        runtime.run(request)
        raw.run()
        tuned.run()
        if callable(extism_call):
            extism_call()
    clock = time.perf_counter
    for _ in range(iterations):
        t0 = clock()
        runtime.run(request)
        t1 = clock()
        raw.run()
        t2 = clock()
        tuned.run()
        t2b = clock()
        samples["platform"].append(t1 - t0)
        samples["raw"].append(t2 - t1)
        samples["tuned"].append(t2b - t2)
        if callable(extism_call):
            t3 = clock()
            extism_call()
            samples["extism"].append(clock() - t3)
    runtime.close()
    result: dict[str, Any] = {name: _ms(values) for name, values in samples.items() if values}
    if not callable(extism_call):
        result["extism_note"] = extism_call
    return result


def _throughput(run: Callable[[], object], threads: int, per_thread: int) -> float:
    barrier = threading.Barrier(threads + 1)

    def worker() -> None:
        barrier.wait()
        for _ in range(per_thread):
            run()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in pool:
        t.join()
    return threads * per_thread / (time.perf_counter() - start)


def bench_threads(casts: int) -> dict[str, tuple[float, float]]:
    runtime = WasmRuntime(WasmSettings())
    hello = CastRequest(bundle_dir=HELLO, manifest=load_manifest(HELLO), input=INPUT)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp)
        (bundle / "spell.wasm").write_bytes(
            wasmtime.wat2wasm((ASSETS / "spin.wat").read_text(encoding="utf-8"))
        )
        manifest = SpellManifest(
            id="bench/spin",
            version="1.0.0",
            name="spin",
            runtime=RuntimeSpec(execution="wasm", wasm=WasmSpec()),
        )
        spin = CastRequest(bundle_dir=bundle, manifest=manifest, input=3_000_000)
        _check(runtime.run(spin).outcome is Outcome.SUCCEEDED, "spin cast")
        runtime.run(hello)
        spin_raw = RawFloor(
            bytes(wasmtime.wat2wasm((ASSETS / "spin.wat").read_text(encoding="utf-8"))), stdin=b"3000000"
        )
        contenders: dict[str, tuple[Callable[[], object], int]] = {
            "hello": (functools.partial(runtime.run, hello), casts),
            "cpu-bound (3M-iteration loop)": (functools.partial(runtime.run, spin), casts // 20),
            "baseline: raw wasmtime, same CPU-bound guest": (spin_raw.run, casts // 20),
        }
        out = _best_pairs(contenders)
    runtime.close()
    return out


def _best_pairs(
    contenders: dict[str, tuple[Callable[[], object], int]], rounds: int = 9
) -> dict[str, tuple[float, float]]:
    """Best of ``rounds`` 1- and 2-thread runs per contender, the contenders alternating in each round.

    Other load on the machine only lowers a figure, and alternating spreads it over all contenders.
    """
    best = dict.fromkeys(contenders, (0.0, 0.0))
    for _ in range(rounds):
        for name, (run, count) in contenders.items():
            one, two = best[name]
            best[name] = (max(one, _throughput(run, 1, count)), max(two, _throughput(run, 2, count // 2)))
    return best


def bench_cold(rounds: int) -> dict[str, tuple[float, float]]:
    config = EngineConfig()
    engine = make_engine(config)
    out: dict[str, tuple[float, float]] = {}
    for label, path in (("dict-lookup-rust (Rust)", RUST), ("word-count-c (C)", C_MODULE)):
        wasm = path.read_bytes()
        compile_s: list[float] = []
        disk_s: list[float] = []
        with tempfile.TemporaryDirectory() as tmp:
            ModuleCache(engine, config.cache_key, directory=Path(tmp)).get(wasm)  # fill the disk cache
            for _ in range(rounds):
                t0 = time.perf_counter()
                ModuleCache(engine, config.cache_key).get(wasm)
                t1 = time.perf_counter()
                cache = ModuleCache(engine, config.cache_key, directory=Path(tmp))
                cache.get(wasm)
                t2 = time.perf_counter()
                _check(cache.stats.disk_hits == 1, "disk cache hit")
                compile_s.append(t1 - t0)
                disk_s.append(t2 - t1)
        out[f"{label}, {len(wasm) // 1024} KiB"] = (_ms(compile_s)[0], _ms(disk_s)[0])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()

    lat = bench_latency(args.iterations)
    rows = [
        ("spell cast (fresh instance, warm cache)", "platform"),
        ("raw floor (wasmtime only)", "raw"),
        ("tuned floor (wasmtime, platform's engine + output)", "tuned"),
        ("extism (new Plugin from CompiledPlugin)", "extism"),
    ]
    print(f"\nWASM runtime, hello module, {args.iterations} interleaved iterations (ms)")
    print(f"{'contender':<52}{'median':>10}{'p99':>10}")
    for label, key in rows:
        if key in lat:
            print(f"{label:<52}{lat[key][0]:>10.3f}{lat[key][1]:>10.3f}")
        else:
            print(f"{label:<52}{lat.get('extism_note', 'n/a')}")
    overhead = lat["platform"][0] - lat["tuned"][0]
    verdict = "PASS" if overhead <= 0.5 else "FAIL"
    print(f"\noverhead over the tuned floor (median): {overhead:.3f} ms, target <= 0.5: {verdict}")
    print(f"overhead over the raw floor (median): {lat['platform'][0] - lat['raw'][0]:.3f} ms")
    if "extism" in lat:
        ratio = lat["platform"][0] / lat["extism"][0]
        print(f"spell / extism (median): {ratio:.2f}, target <= 1.0: {'PASS' if ratio <= 1.0 else 'FAIL'}")

    threads = bench_threads(max(200, args.iterations // 2))
    print("\nThroughput (casts/s, best of 9 rounds, contenders and thread counts alternating)")
    print(f"{'module':<46}{'1 thread':>12}{'2 threads':>12}{'ratio':>8}")
    for name, (one, two) in threads.items():
        print(f"{name:<46}{one:>12.0f}{two:>12.0f}{two / one:>8.2f}")
    print(f"(target: 2 threads >= 1.7x one for guest-bound casts; this machine has {os.cpu_count()} CPUs)")

    cold = bench_cold(10)
    print("\nCold start of a module (ms, median of 10)")
    print(f"{'module':<36}{'compile':>12}{'disk cache':>12}{'speed-up':>10}")
    for name, (comp, disk) in cold.items():
        print(f"{name:<36}{comp:>12.2f}{disk:>12.2f}{comp / disk:>9.1f}x")


if __name__ == "__main__":
    main()
