"""Compiled modules: a bounded in-memory LRU in front of an on-disk AOT cache.

Disk entries are ``<module sha256>-<engine key>.cwasm`` with a ``.sha256`` file beside them holding
the digest of the serialized bytes. A serialized module is native code that wasmtime trusts, so an
entry is deserialized only from bytes that match the stored digest; a missing, corrupt, foreign or
unreadable entry is recompiled and rewritten, never a crash. Writes are atomic (temp file + rename).
Keep the cache directory private to the user running casts.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import wasmtime

__all__ = ["CacheStats", "ModuleCache"]


@dataclass
class CacheStats:
    """Counters, for tests and benchmarks."""

    memory_hits: int = 0
    disk_hits: int = 0
    compiles: int = 0
    rejected_disk_entries: int = 0


class ModuleCache:
    """Thread-safe cache of compiled modules for one engine."""

    def __init__(
        self, engine: wasmtime.Engine, engine_key: str, *, capacity: int = 64, directory: Path | None = None
    ) -> None:
        self._engine = engine
        self._engine_key = engine_key
        self._capacity = capacity
        self._dir = directory
        self._lru: OrderedDict[str, wasmtime.Module] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self.stats = CacheStats()

    def get(self, wasm: bytes) -> wasmtime.Module:
        """Return the compiled module for ``wasm`` (raises ``wasmtime.WasmtimeError`` if invalid)."""
        return self.get_by_digest(hashlib.sha256(wasm).hexdigest(), lambda: wasm)

    def get_by_digest(self, key: str, load: Callable[[], bytes]) -> wasmtime.Module:
        """Return the compiled module whose sha256 is ``key``; ``load`` gives its bytes on a miss."""
        with self._lock:
            module = self._lru.get(key)
            if module is not None:
                self._lru.move_to_end(key)
                self.stats.memory_hits += 1
                return module
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # one compile per module even when many casts start together
            with self._lock:
                module = self._lru.get(key)
            if module is None:
                module = self._load_or_compile(key, load)
            with self._lock:
                self._lru[key] = module
                self._lru.move_to_end(key)
                while len(self._lru) > self._capacity:
                    self._lru.popitem(last=False)
                self._key_locks.pop(key, None)
            return module

    def entry_path(self, key: str) -> Path | None:
        """Where the AOT artifact of a module digest lives (None without a cache directory)."""
        if self._dir is None:
            return None
        return self._dir / f"{key}-{self._engine_key}.cwasm"

    def _load_or_compile(self, key: str, load: Callable[[], bytes]) -> wasmtime.Module:
        path = self.entry_path(key)
        if path is not None:
            module = self._load(path)
            if module is not None:
                self.stats.disk_hits += 1
                return module
        wasm = load()
        if hashlib.sha256(wasm).hexdigest() != key:
            raise wasmtime.WasmtimeError("the module changed while it was being loaded")
        module = wasmtime.Module(self._engine, wasm)
        self.stats.compiles += 1
        if path is not None:
            self._store(path, bytes(module.serialize()))
        return module

    def _load(self, path: Path) -> wasmtime.Module | None:
        sidecar = path.with_suffix(".sha256")
        try:
            expected = sidecar.read_text(encoding="ascii").strip()
            data = path.read_bytes()
        except (OSError, UnicodeDecodeError):
            return None
        if hashlib.sha256(data).hexdigest() != expected:
            self.stats.rejected_disk_entries += 1
            return None
        try:
            return wasmtime.Module.deserialize(self._engine, data)
        except wasmtime.WasmtimeError:  # written by another wasmtime or engine config
            self.stats.rejected_disk_entries += 1
            return None

    def _store(self, path: Path, data: bytes) -> None:
        # A cache that cannot be written only costs speed; the cast goes on.
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            _atomic_write(path, data)
            _atomic_write(path.with_suffix(".sha256"), hashlib.sha256(data).hexdigest().encode("ascii"))


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
