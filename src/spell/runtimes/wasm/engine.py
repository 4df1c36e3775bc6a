"""One shared wasmtime ``Engine`` per configuration, and the ticker that drives its epoch.

Every store runs with an epoch deadline of one tick and a deadline callback (``interrupt.py``), so
each tick gives every running guest a chance to be stopped for its wall clock, a cancel or an output
overflow — without a thread per cast.
"""

from __future__ import annotations

import hashlib
import platform
import threading
import time
from dataclasses import dataclass
from importlib.metadata import version

import wasmtime

__all__ = ["EngineConfig", "EpochTicker", "make_engine"]

WASMTIME_VERSION = version("wasmtime")


@dataclass(frozen=True)
class EngineConfig:
    """Everything that changes compiled code; part of the AOT cache key."""

    max_stack_bytes: int = 1024 * 1024
    opt_level: str = "speed"

    @property
    def cache_key(self) -> str:
        """A short stable digest of the wasmtime version, host and this configuration."""
        raw = "|".join(
            [
                f"wasmtime={WASMTIME_VERSION}",
                f"machine={platform.machine()}",
                "fuel=1",
                "epoch=1",
                f"stack={self.max_stack_bytes}",
                f"opt={self.opt_level}",
            ]
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


def make_engine(config: EngineConfig) -> wasmtime.Engine:
    """Build an engine with fuel metering and epoch interruption on."""
    cfg = wasmtime.Config()
    cfg.consume_fuel = True
    cfg.epoch_interruption = True
    cfg.max_wasm_stack = config.max_stack_bytes
    cfg.cranelift_opt_level = config.opt_level
    return wasmtime.Engine(cfg)


class EpochTicker:
    """Increments an engine's epoch every ``tick_s`` while casts run.

    The thread idles on a condition once no cast has run for ``linger_s``; a cast wakes it only
    when it idles, so back-to-back casts pay no thread hand-off.
    """

    def __init__(self, engine: wasmtime.Engine, *, tick_s: float = 0.005, linger_s: float = 1.0) -> None:
        self._engine = engine
        self._tick_s = tick_s
        self._linger_s = linger_s
        self._active = 0
        self._last_active = 0.0
        self._idle = True
        self._closed = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def enter(self) -> None:
        """A cast starts: make sure the clock runs."""
        with self._cond:
            self._active += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="spell-wasm-epoch", daemon=True)
                self._thread.start()
            if self._idle:
                self._idle = False
                self._cond.notify()

    def leave(self) -> None:
        """A cast ended."""
        with self._cond:
            self._active -= 1
            self._last_active = time.monotonic()

    def close(self) -> None:
        """Stop the ticker thread (it is a daemon; closing is for tidy tests and servers)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._active == 0 and time.monotonic() - self._last_active > self._linger_s:
                    self._idle = True
                    self._cond.wait_for(lambda: self._closed or not self._idle)
                if self._closed:
                    return
                self._cond.wait(self._tick_s)  # doubles as the tick sleep; close() cuts it short
                if self._closed:
                    return
            self._engine.increment_epoch()
