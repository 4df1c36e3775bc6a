"""One cast's sandbox: a fresh Store, WASI context and Linker, and what it measured afterwards."""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from spell.runtimes.base import Limits
from spell.runtimes.wasm.calls import memory_bytes, run_start
from spell.runtimes.wasm.capabilities import Grants
from spell.runtimes.wasm.capture import OutputSink, open_output
from spell.runtimes.wasm.egress import EgressClient
from spell.runtimes.wasm.interrupt import Watch, attach_watch, detach_watch
from spell.runtimes.wasm.linking import HostContext, bind

__all__ = ["Ran", "run_module"]

_MAX_INSTANCES = 1
_MAX_TABLES = 16
_MAX_MEMORIES = 1  # memory_size caps each memory, so one memory makes it the cast's total


@dataclass
class Ran:
    """The raw facts of one run, before they are judged into an outcome."""

    exit_code: int | None = None
    trap: wasmtime.Trap | None = None
    error: wasmtime.WasmtimeError | None = None
    fuel_used: int = 0
    peak_memory: int = 0
    cpu_ms: float = 0.0
    stdout: bytes = b""  # kept, at most the cap
    stderr: bytes = b""
    stdout_attempted: int = 0  # bytes the guest wrote, kept or not (see capture.py)
    stderr_attempted: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def run_module(
    engine: wasmtime.Engine,
    linked: Callable[[], wasmtime.InstancePre],
    *,
    stdin: bytes,
    limits: Limits,
    grants: Grants,
    watch: Watch,
    egress: EgressClient | None,
    argv0: str,
) -> Ran:
    """Instantiate the pre-linked module in a fresh store and run its ``_start`` to the end.

    ``linked`` returns the pre-linked module; it is called inside the run so that a link error
    (an unknown import) is reported like any other failure of the run.
    """
    store = wasmtime.Store(engine)
    try:
        store.set_limits(
            memory_size=limits.max_memory_bytes,
            table_elements=limits.max_table_elements,
            instances=_MAX_INSTANCES,
            tables=_MAX_TABLES,
            memories=_MAX_MEMORIES,
        )
        fuel = limits.fuel or 0
        store.set_fuel(fuel)
        ran = Ran()
        wasi = _wasi_config(stdin, grants, argv0)
        outputs = open_output(
            wasi, stdout_limit=limits.max_stdout_bytes, stderr_limit=limits.max_stderr_bytes, watch=watch
        )
        try:
            store.set_wasi(wasi)
            instance = _start(store, linked, ran, watch, egress)
        finally:
            _collect(ran, outputs, watch)
        ran.fuel_used = fuel - store.get_fuel()
        if instance is not None:
            # A cast has at most one linear memory (store limits); WASI modules export it as "memory".
            ran.peak_memory = memory_bytes(store, instance)
        return ran
    finally:
        # Freed now, not whenever the garbage collector finds it (a trap's traceback keeps this frame,
        # and so the store, in a cycle): wasmtime then releases the output sinks right after the cast.
        store.close()


def _start(
    store: wasmtime.Store,
    linked: Callable[[], wasmtime.InstancePre],
    ran: Ran,
    watch: Watch,
    egress: EgressClient | None,
) -> wasmtime.Instance | None:
    key = attach_watch(store, watch)
    cpu0 = time.thread_time()
    instance: wasmtime.Instance | None = None
    previous = bind(HostContext(watch=watch, egress=egress))
    try:
        instance = linked().instantiate(store)
        if run_start(store, instance):
            ran.exit_code = 0
        else:
            ran.extra["no_start"] = True
    except wasmtime.ExitTrap as exc:
        ran.exit_code = exc.code
    except wasmtime.Trap as exc:
        ran.trap = exc
    except wasmtime.WasmtimeError as exc:
        ran.error = exc
    finally:
        ran.cpu_ms = (time.thread_time() - cpu0) * 1000
        bind(previous)
        detach_watch(key)
    return instance


def _collect(ran: Ran, outputs: tuple[OutputSink, OutputSink], watch: Watch) -> None:
    # The guest has stopped and wasmtime has finished every write it accepted.
    stdout, stderr = outputs
    try:
        ran.stdout = stdout.finish()
    finally:
        ran.stderr = stderr.finish()
    ran.stdout_attempted, ran.stderr_attempted = stdout.attempted, stderr.attempted
    watch.check_outputs()  # an overflow in the last moments before the guest stopped


def _wasi_config(stdin: bytes, grants: Grants, argv0: str) -> wasmtime.WasiConfig:
    wasi = wasmtime.WasiConfig()
    if argv0:
        wasi.argv = [argv0]
    if grants.env:
        wasi.env = list(grants.env.items())
    _set_stdin_bytes(wasi, stdin)
    for guest, host in grants.read_only.items():
        wasi.preopen_dir(str(host), guest, fs_mutable=False)
    for guest, host in grants.writable.items():
        wasi.preopen_dir(str(host), guest, fs_mutable=True)
    return wasi


def _set_stdin_bytes(wasi: wasmtime.WasiConfig, data: bytes) -> None:
    # wasmtime-py only offers a stdin *file*; the C API also takes bytes, which avoids a temp file per cast.
    vec = ffi.wasm_byte_vec_t()
    buf = (ffi.wasm_byte_t * len(data)).from_buffer_copy(data) if data else None
    ffi.wasm_byte_vec_new(ctypes.byref(vec), len(data), buf)
    ffi.wasi_config_set_stdin_bytes(wasi.ptr(), ctypes.byref(vec))  # takes ownership of the vector
