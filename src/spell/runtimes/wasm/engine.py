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

__all__ = ["EngineConfig", "EpochTicker", "make_engine", "shared_engine", "shared_tickers"]

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


_SHARED: dict[tuple[EngineConfig, float], tuple[wasmtime.Engine, EpochTicker]] = {}
_SHARED_LOCK = threading.Lock()


def shared_engine(config: EngineConfig, *, tick_s: float) -> tuple[wasmtime.Engine, EpochTicker]:
    """The process's one engine (and its ticker) for ``config``: compiled code is per engine."""
    key = (config, tick_s)
    with _SHARED_LOCK:
        found = _SHARED.get(key)
        if found is None:
            engine = make_engine(config)
            found = _SHARED[key] = (engine, EpochTicker(engine, tick_s=tick_s))
        return found


def shared_tickers() -> list[EpochTicker]:
    """The tickers of every shared engine made so far (process exit stops them)."""
    with _SHARED_LOCK:
        return [ticker for _engine, ticker in _SHARED.values()]


class EpochTicker:
    """Increments an engine's epoch every ``tick_s`` while casts run.

    The thread starts with the first cast and ends once no cast has run for ``linger_s``, so
    back-to-back casts pay no thread start and an unused runtime holds no thread.
    """

    def __init__(self, engine: wasmtime.Engine, *, tick_s: float = 0.005, linger_s: float = 1.0) -> None:
        self._engine = engine
        self._tick_s = tick_s
        self._linger_s = linger_s
        self._active = 0
        self._last_active = time.monotonic()
        self._stop = False
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # wakes the ticker thread
        self._idle = threading.Condition(lock)  # wakes whoever waits for the last cast to end
        self._thread: threading.Thread | None = None

    def enter(self) -> None:
        """A cast starts: make sure the clock runs."""
        with self._cond:
            self._active += 1
            if self._thread is None:
                self._start()

    def leave(self) -> None:
        """A cast ended."""
        with self._cond:
            self._active -= 1
            self._last_active = time.monotonic()
            if self._active == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no cast runs on this engine; False when ``timeout_s`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout_s)

    @property
    def running(self) -> bool:
        """True while the ticker thread exists."""
        with self._cond:
            return self._thread is not None

    def close(self) -> None:
        """Stop the ticker thread now (it also stops by itself when idle; the next cast restarts it)."""
        with self._cond:
            self._stop = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        with self._cond:
            self._stop = False
            if self._active > 0 and self._thread is None:  # a cast started while we stopped
                self._start()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="spell-wasm-epoch", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._cond:
                idle = self._active == 0 and time.monotonic() - self._last_active > self._linger_s
                if self._stop or idle:
                    self._thread = None
                    return
                self._cond.wait(self._tick_s)  # the tick's sleep; close() cuts it short
            self._engine.increment_epoch()
