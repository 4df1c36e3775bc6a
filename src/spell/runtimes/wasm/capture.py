"""Captured guest output with a hard cap, and the C callbacks that feed it.

wasmtime calls an output callback — and, once the store is gone, its finalizer — from one of its
own (tokio) worker threads, not from the thread running the guest. A Python callback entered on such
a thread while the interpreter is finalizing ends that thread with a forced unwind, which Rust turns
into an abort of the whole process. So every sink is registered here until wasmtime releases it, and
``wait_released`` lets process exit wait for the last release (see ``shutdown.py``).
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import threading
import time
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from spell.runtimes.wasm.interrupt import Watch

__all__ = ["CappedSink", "connect_output", "pending_sinks", "wait_released"]


class CappedSink:
    """Collects one stream of a guest (stdout or stderr) up to ``limit`` bytes."""

    def __init__(self, name: str, limit: int, watch: Watch) -> None:
        self.name = name
        self.limit = limit
        self.buffer = bytearray()
        self.attempted = 0  # bytes the guest tried to write, kept or not
        self._watch = watch

    def write(self, data: bytes) -> int:
        """WASI write callback: accept what fits; past the cap fail the write and flag the cast."""
        try:
            self.attempted += len(data)
            room = self.limit - len(self.buffer)
            if len(data) <= room:
                self.buffer += data
                return len(data)
            self.buffer += data[: max(room, 0)]
            if self._watch.output_overflow is None:
                self._watch.output_overflow = self.name
            return -errno.EFBIG
        except BaseException:  # never unwind into wasmtime (see interrupt.py)
            return -errno.EIO

    @property
    def overflowed(self) -> bool:
        """True when the guest wrote more than the cap."""
        return self.attempted > self.limit


_SINKS: dict[int, CappedSink] = {}
_RELEASED = threading.Condition()
_IDS = itertools.count(1)
# The same signatures wasmtime-py declares, so the bindings accept these callbacks.
_WRITE_TYPE: Any = ctypes.CFUNCTYPE(
    ctypes.c_ssize_t, ctypes.c_void_p, ctypes.POINTER(ctypes.c_ubyte), ctypes.c_size_t
)
_FINALIZE_TYPE: Any = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def _on_write(data: Any, buf: Any, size: int) -> int:
    try:
        sink = _SINKS.get(int(data or 0))
        if sink is None:
            return -errno.EIO
        return sink.write(ctypes.string_at(buf, size) if size else b"")
    except BaseException:  # a C callback must not unwind
        return -errno.EIO


def _on_release(data: Any) -> None:
    try:
        with _RELEASED:
            _SINKS.pop(int(data or 0), None)
            _RELEASED.notify_all()
    except BaseException:  # noqa: S110 — a C callback must not unwind; nothing is left to clean up
        pass


_WRITE = _WRITE_TYPE(_on_write)
_RELEASE = _FINALIZE_TYPE(_on_release)


def connect_output(wasi: wasmtime.WasiConfig, *, stdout: CappedSink, stderr: CappedSink) -> None:
    """Route the guest's stdout and stderr into the sinks; each stays registered until wasmtime drops it."""
    for sink, setter in (
        (stdout, ffi.wasi_config_set_stdout_custom),
        (stderr, ffi.wasi_config_set_stderr_custom),
    ):
        key = next(_IDS)
        with _RELEASED:
            _SINKS[key] = sink
        setter(wasi.ptr(), _WRITE, ctypes.c_void_p(key), _RELEASE)


def pending_sinks() -> int:
    """How many sinks wasmtime still holds (a finished cast's are released shortly after its store)."""
    with _RELEASED:
        return len(_SINKS)


def wait_released(timeout_s: float) -> bool:
    """Wait until wasmtime has released every sink; False when ``timeout_s`` passed first."""
    deadline = time.monotonic() + timeout_s
    with _RELEASED:
        while _SINKS:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _RELEASED.wait(left)
        return True
