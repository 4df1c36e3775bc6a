"""Leave wasmtime quiet before the interpreter finalizes.

A thread inside wasmtime that calls back into Python after finalization has begun (an epoch
callback or host function on a daemon thread, an output sink or its finalizer on one of wasmtime's
own worker threads) is ended by the interpreter with a forced unwind, which Rust turns into an
abort — after the cast had already succeeded. ``quiesce`` runs at exit, while threads may still take
the GIL: it cancels guests still running, waits for their threads to leave wasmtime, stops the epoch
tickers and waits until wasmtime has released every output sink.
"""

from __future__ import annotations

import atexit
import threading
import time

from spell.runtimes.wasm.capture import wait_released
from spell.runtimes.wasm.engine import shared_tickers
from spell.runtimes.wasm.interrupt import cancel_running

__all__ = ["install", "quiesce"]

_INSTALLED = False
_LOCK = threading.Lock()


def quiesce(timeout_s: float = 5.0) -> bool:
    """Stop every cast and ticker and wait for wasmtime's releases; False if ``timeout_s`` ran out."""
    deadline = time.monotonic() + timeout_s
    cancel_running()
    quiet = True
    for ticker in shared_tickers():
        quiet = ticker.wait_idle(max(0.0, deadline - time.monotonic())) and quiet
        ticker.close()
    return wait_released(max(0.0, deadline - time.monotonic())) and quiet


def install() -> None:
    """Run ``quiesce`` at interpreter exit (once per process, however often it is called)."""
    global _INSTALLED
    with _LOCK:
        if not _INSTALLED:
            atexit.register(quiesce)
            _INSTALLED = True
