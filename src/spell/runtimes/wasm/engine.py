"""One shared wasmtime ``Engine`` per configuration, and the ticker that drives its epoch.

Every store runs with an epoch deadline of one tick and a deadline callback (``interrupt.py``), so
each tick gives every running guest a chance to be stopped for its wall clock, a cancel or an output
overflow — without a thread per cast.

With ``instance_slots`` the engine uses wasmtime's pooling allocator: address space for that many
instances (memory, tables) is reserved once, and each new store's instance takes a free slot, whose
memory wasmtime zeroes when the store is dropped. That saves the map/unmap of a fresh 4 GiB memory
reservation per cast. The slots bound how many instances can be alive at once, so the engine's
ticker, which counts running casts anyway, lets a cast in only when a slot is free. wasmtime aborts
the process when it cannot reserve the pool, so the pool is used only where the reservation can be
made: a 64-bit Linux or macOS host with no address-space limit in the way, where a reservation of
that size succeeds just before (it fails, e.g., under valgrind).
"""

from __future__ import annotations

import hashlib
import mmap
import platform
import sys
import threading
import time
from dataclasses import dataclass
from importlib.metadata import version

import wasmtime
from wasmtime import _ffi as ffi

__all__ = [
    "EngineConfig",
    "EpochTicker",
    "SharedEngine",
    "make_engine",
    "pool_bytes",
    "pool_fits",
    "pool_usable",
    "shared_engine",
    "shared_tickers",
]

WASMTIME_VERSION = version("wasmtime")
# wasmtime's default memory reservation on 64-bit hosts, which is also each pooled memory's span
_MEMORY_RESERVATION = 4 << 30
_POOL_TABLES_PER_MODULE = 16  # the store limit of sandbox.py
_POOL_INSTANCE_BYTES = 16 << 20  # an instance's own state (imports, globals, function references)
_POOL_MIN_TABLE_ELEMENTS = 1 << 20


@dataclass(frozen=True)
class EngineConfig:
    """How to build an engine; ``cache_key`` covers the fields that change compiled code.

    ``instance_slots`` > 0 asks for the pooling allocator with that many slots. A slot's memory
    spans the whole 4 GiB reservation an instance gets anyway, and its tables hold at least
    ``max_table_elements``, so the pool refuses no module that the store limits would run (they
    are what caps each cast). The allocation strategy does not change compiled code (serialized
    modules are the same), so it is not part of the cache key.
    """

    max_stack_bytes: int = 1024 * 1024
    opt_level: str = "speed"
    instance_slots: int = 0
    max_table_elements: int = 100_000

    @property
    def pool_table_elements(self) -> int:
        """Elements per pooled table: the store cap, and at least 1 Mi (8 MiB of address space each)."""
        return max(self.max_table_elements, _POOL_MIN_TABLE_ELEMENTS)

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


def pool_bytes(config: EngineConfig) -> int:
    """A generous bound on the address space the pool of ``config`` reserves."""
    memory = config.instance_slots * 2 * _MEMORY_RESERVATION  # the span plus guard regions
    tables = config.instance_slots * _POOL_TABLES_PER_MODULE * config.pool_table_elements * 8
    return memory + tables


def pool_fits(config: EngineConfig, *, address_space_limit: int | None) -> bool:
    """True when ``config`` asks for a pool that ``address_space_limit`` leaves room for (None: no limit)."""
    if config.instance_slots <= 0 or sys.maxsize < 1 << 40 or sys.platform not in ("linux", "darwin"):
        return False
    if address_space_limit is None:
        return True
    return pool_bytes(config) + (1 << 34) <= address_space_limit  # and room for everything else


def make_engine(config: EngineConfig, *, pooled: bool | None = None) -> wasmtime.Engine:
    """Build an engine with fuel metering and epoch interruption on; pooled if asked and it fits.

    ``pooled`` is what ``pool_usable(config)`` answered, when the caller already asked.
    """
    cfg = wasmtime.Config()
    cfg.consume_fuel = True
    cfg.epoch_interruption = True
    cfg.max_wasm_stack = config.max_stack_bytes
    cfg.cranelift_opt_level = config.opt_level
    if pool_usable(config) if pooled is None else pooled:
        _use_pool(cfg, config)
    return wasmtime.Engine(cfg)


def pool_usable(config: EngineConfig) -> bool:
    """True when ``config`` asks for a pool and its address space can be reserved here and now."""
    return pool_fits(config, address_space_limit=_address_space_limit()) and _reservable(pool_bytes(config))


def _reservable(size: int) -> bool:
    # wasmtime aborts the process when its reservation fails, so try one first: inaccessible and
    # unreserved pages cost no memory, and this one is returned at once.
    try:
        probe = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, prot=0)
    except (OSError, ValueError, OverflowError):
        return False
    probe.close()
    return True


def _use_pool(cfg: wasmtime.Config, config: EngineConfig) -> None:
    slots = config.instance_slots
    pool = ffi.wasmtime_pooling_allocation_config_new()
    ffi.wasmtime_pooling_allocation_config_max_memory_size_set(pool, _MEMORY_RESERVATION)
    ffi.wasmtime_pooling_allocation_config_total_core_instances_set(pool, slots)
    ffi.wasmtime_pooling_allocation_config_total_memories_set(pool, slots)
    ffi.wasmtime_pooling_allocation_config_total_tables_set(pool, slots * _POOL_TABLES_PER_MODULE)
    ffi.wasmtime_pooling_allocation_config_max_tables_per_module_set(pool, _POOL_TABLES_PER_MODULE)
    ffi.wasmtime_pooling_allocation_config_table_elements_set(pool, config.pool_table_elements)
    ffi.wasmtime_pooling_allocation_config_max_core_instance_size_set(pool, _POOL_INSTANCE_BYTES)
    ffi.wasmtime_pooling_allocation_strategy_set(cfg.ptr(), pool)  # copies the pool config
    ffi.wasmtime_pooling_allocation_config_delete(pool)


def _address_space_limit() -> int | None:
    try:
        import resource
    except ImportError:  # pragma: no cover — not a Unix
        return 0
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft


@dataclass(frozen=True)
class SharedEngine:
    """An engine and its epoch ticker (which, for a pooled engine, admits casts up to the slots)."""

    engine: wasmtime.Engine
    ticker: EpochTicker


_SHARED: dict[tuple[EngineConfig, float], SharedEngine] = {}
_SHARED_LOCK = threading.Lock()


def shared_engine(config: EngineConfig, *, tick_s: float) -> SharedEngine:
    """The process's one engine (and its ticker) for ``config``: compiled code is per engine."""
    key = (config, tick_s)
    with _SHARED_LOCK:
        found = _SHARED.get(key)
        if found is None:
            pooled = pool_usable(config)
            engine = make_engine(config, pooled=pooled)
            ticker = EpochTicker(engine, tick_s=tick_s, capacity=config.instance_slots if pooled else None)
            found = _SHARED[key] = SharedEngine(engine, ticker)
        return found


def shared_tickers() -> list[EpochTicker]:
    """The tickers of every shared engine made so far (process exit stops them)."""
    with _SHARED_LOCK:
        return [shared.ticker for shared in _SHARED.values()]


class EpochTicker:
    """Increments an engine's epoch every ``tick_s`` while casts run.

    The thread starts with the first cast and ends once no cast has run for ``linger_s``, so
    back-to-back casts pay no thread start and an unused runtime holds no thread. With a
    ``capacity`` (a pooled engine's instance slots), at most that many casts are in at once.
    """

    def __init__(
        self,
        engine: wasmtime.Engine,
        *,
        tick_s: float = 0.005,
        linger_s: float = 1.0,
        capacity: int | None = None,
    ) -> None:
        self._engine = engine
        self._tick_s = tick_s
        self._linger_s = linger_s
        self.capacity = capacity
        self._active = 0
        self._last_active = time.monotonic()
        self._stop = False
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # wakes the ticker thread
        self._idle = threading.Condition(lock)  # wakes whoever waits for the last cast to end
        self._room = threading.Condition(lock)  # wakes a cast waiting for a free slot
        self._thread: threading.Thread | None = None

    def enter(self, timeout_s: float | None = None) -> bool:
        """A cast starts: wait up to ``timeout_s`` for room, make sure the clock runs; False if no room."""
        with self._cond:
            capacity = self.capacity
            full = capacity is not None and self._active >= capacity
            if full and not self._room.wait_for(lambda: self._active < (capacity or 0), timeout_s):
                return False
            self._active += 1
            if self._thread is None:
                self._start()
            return True

    def leave(self) -> None:
        """A cast ended (its store is gone)."""
        with self._cond:
            self._active -= 1
            self._last_active = time.monotonic()
            if self._active == 0:
                self._idle.notify_all()
            if self.capacity is not None:
                self._room.notify()

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
