"""One shared wasmtime ``Engine`` per configuration, and the ticker that drives its epoch.

Every store runs with an epoch deadline of one tick and a deadline callback (``interrupt.py``), so
each tick gives every running guest a chance to be stopped for its wall clock, a cancel or an output
overflow — without a thread per cast.
"""

from __future__ import annotations

import hashlib
import platform
import threading
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
    """Increments an engine's epoch every ``tick_s`` while at least one cast is running."""

    def __init__(self, engine: wasmtime.Engine, *, tick_s: float = 0.005) -> None:
        self._engine = engine
        self._tick_s = tick_s
        self._active = 0
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
            self._cond.notify()

    def leave(self) -> None:
        """A cast ended."""
        with self._cond:
            self._active -= 1

    def bump(self) -> None:
        """Tick now, so running guests check their stop conditions at once."""
        self._engine.increment_epoch()

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
                # Idle waits block without ticking; while casts run, wait_for times out every tick.
                self._cond.wait_for(lambda: self._closed or self._active > 0)
                if self._closed:
                    return
                self._cond.wait(self._tick_s)
                if self._closed:
                    return
            self._engine.increment_epoch()
