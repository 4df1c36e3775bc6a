"""Why a running guest must stop: wall clock, cancel, output overflow — checked at every epoch tick.

wasmtime calls ``_on_epoch`` (a C callback registered per store) each time the engine's epoch passes
the store's deadline. The callback never raises: it returns an error to stop the guest, or pushes the
deadline one tick further. Host functions never raise either, because wasmtime-py keeps the last
Python exception of a callback in a process-wide variable that another thread's call could pick up.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
import time
from typing import Any, Protocol

import wasmtime
from wasmtime import _ffi as ffi

__all__ = ["Output", "StopReason", "Watch", "attach_watch", "cancel_running", "detach_watch"]


class StopReason:
    """Why the host stopped a guest (first reason wins)."""

    TIMEOUT = "timeout"
    CANCELED = "canceled"
    OUTPUT = "output"


class Output(Protocol):
    """A captured output stream, as the watch sees it."""

    name: str

    @property
    def overflowed(self) -> bool:
        """True once the guest wrote more than the stream's cap."""
        ...


class Watch:
    """The stop conditions of one cast, read by the epoch callback and by host functions."""

    def __init__(self, *, timeout_s: float, cancel: threading.Event | None) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + timeout_s
        # Always an event, so that a sleeping guest can be woken (by its caller or at process exit).
        self.cancel = cancel if cancel is not None else threading.Event()
        self.reason: str | None = None
        self.output_overflow: str | None = None  # "stdout" or "stderr"
        self.outputs: tuple[Output, ...] = ()  # the cast's streams, checked for overflow at each tick

    def remaining_s(self) -> float:
        """Seconds left on the wall clock (never negative)."""
        return max(0.0, self.deadline - time.monotonic())

    def check(self) -> str | None:
        """Record and return the stop reason, if there is one now."""
        if self.reason is None:
            self.check_outputs()
            if self.output_overflow is not None:
                self.reason = StopReason.OUTPUT
            elif self.cancel.is_set() or _CLOSING.is_set():
                self.reason = StopReason.CANCELED
            elif time.monotonic() >= self.deadline:
                self.reason = StopReason.TIMEOUT
        return self.reason

    def check_outputs(self) -> str | None:
        """Record and return the first stream that passed its cap, if any."""
        if self.output_overflow is None:
            for output in self.outputs:
                if output.overflowed:
                    self.output_overflow = output.name
                    break
        return self.output_overflow


_WATCHES: dict[int, Watch] = {}
_CLOSING = threading.Event()  # the process is exiting: every guest, running or about to run, stops
_IDS = itertools.count(1)
_CALLBACK_TYPE: Any = ctypes.CFUNCTYPE(
    ctypes.c_size_t,
    ctypes.POINTER(ffi.wasmtime_context_t),
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_uint64),
    ctypes.POINTER(ctypes.c_uint8),
)


def _on_epoch(_ctx: Any, data: Any, delta: Any, kind: Any) -> int:
    try:
        watch = _WATCHES.get(int(data or 0))
        reason = watch.check() if watch is not None else "detached"
        if reason is not None:
            err = ffi.wasmtime_error_new(f"spell: guest stopped ({reason})".encode())
            return int(ctypes.cast(err, ctypes.c_void_p).value or 0)
        delta[0] = 1
        kind[0] = 0  # continue (the only kind meaningful outside async stores)
        return 0
    except BaseException:  # a C callback must not unwind; stopping the guest is the safe answer
        err = ffi.wasmtime_error_new(b"spell: epoch callback failed")
        return int(ctypes.cast(err, ctypes.c_void_p).value or 0)


_CALLBACK = _CALLBACK_TYPE(_on_epoch)
_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _data: None)


def attach_watch(store: wasmtime.Store, watch: Watch) -> int:
    """Register ``watch`` for ``store``; returns the key to pass to ``detach_watch``."""
    key = next(_IDS)
    _WATCHES[key] = watch
    ffi.wasmtime_store_epoch_deadline_callback(store.ptr(), _CALLBACK, ctypes.c_void_p(key), _NO_FINALIZER)
    store.set_epoch_deadline(1)
    return key


def detach_watch(key: int) -> None:
    """Forget a watch once its store is finished."""
    _WATCHES.pop(key, None)


def cancel_running() -> int:
    """Process exit: cancel every guest running now or started later; returns how many were running."""
    _CLOSING.set()
    running = list(_WATCHES.values())
    for watch in running:
        watch.cancel.set()
    return len(running)
