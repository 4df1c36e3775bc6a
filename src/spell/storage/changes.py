"""Change generations: a counter per watched model, bumped after every commit that wrote its rows.

Hot read paths (API key lookup, spell resolution on every cast) keep results in memory and tag them
with the generation they were read under; a commit in this process that inserted, updated or deleted
a row of that model through the ORM bumps the generation, so the next read misses and goes back to
the database. The bump happens *after* the commit: a reader racing a writer may cache the old row
under the old generation, never the old row under the new one.

With ``share_generations`` the counters live in a small file mapped by every process of one Spell home
(several server processes, a CLI command beside the server), so a key revoked by any of them is
refused by all on the next request. On PostgreSQL the same commit also sends the changed models'
names on a notification channel (in its own transaction: delivered at commit, dropped on rollback), and
each server process's ``storage.notify.Listener`` bumps them here (``bump_named``), so processes on
other machines see the change on their next request too. While such a listener is away, notifications
may be lost: ``hold_caching`` turns every cached read off until it is back.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import threading
import zlib
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import event, text
from sqlalchemy.orm import Session, UOWTransaction

from spell.kit.clock import Clock, SystemClock
from spell.storage.notify import CHANGES, channel_sql, origin

__all__ = [
    "CachedReads",
    "Generation",
    "SharedCounters",
    "bump_all_here",
    "bump_named",
    "generation_of",
    "hold_caching",
    "share_generations",
]

K = TypeVar("K")
V = TypeVar("V")

_KEY = "spell.changed_models"


class SharedCounters:
    """``SLOTS`` 64-bit counters in a file that every process maps; a bump holds the file's ``flock``."""

    SLOTS = 64
    _WORD = struct.Struct("<Q")

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        size = self.SLOTS * self._WORD.size
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            if os.fstat(self._fd).st_size < size:
                os.ftruncate(self._fd, size)  # new pages read as zeros
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._map = mmap.mmap(self._fd, size)

    def read(self, slot: int) -> int:
        """The counter's current value (an aligned 8-byte load: never torn)."""
        return int(self._WORD.unpack_from(self._map, slot * self._WORD.size)[0])

    def bump(self, slot: int) -> None:
        """Add one, exclusive against every other process's bump."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            self._WORD.pack_into(self._map, slot * self._WORD.size, self.read(slot) + 1)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Unmap and close the file."""
        self._map.close()
        os.close(self._fd)


_SHARED: SharedCounters | None = None


class Generation:
    """A counter that only grows; read ``value`` before reading the rows it guards."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._local = 0
        self._slot = zlib.crc32(name.encode()) % SharedCounters.SLOTS  # a shared clash only costs misses
        self._lock = threading.Lock()

    @property
    def value(self) -> int:
        shared = _SHARED
        return self._local if shared is None else self._local + shared.read(self._slot)

    def bump(self) -> None:
        """Mark every result read before now as possibly stale, here and in processes sharing the file.

        One bump adds one to ``value``: to the shared counter when there is one, else to this process's.
        """
        shared = _SHARED
        if shared is not None:
            shared.bump(self._slot)
            return
        self.bump_here()

    def bump_here(self) -> None:
        """Add one to this process's part only (a change every process hears of on its own)."""
        with self._lock:
            self._local += 1


def share_generations(path: Path | None) -> None:
    """Keep the generations in ``path``, shared with every process that names the same file (None: here only).

    Every cached read in this process misses once, as its generations jump to the shared values. A
    file replaced here stays mapped: a reader on another thread may still hold it.
    """
    global _SHARED
    with _INSTALL_LOCK:
        if _SHARED is not None and path is not None and _SHARED.path == path:
            return
        _SHARED = SharedCounters(path) if path is not None else None


_GENERATIONS: dict[type[Any], Generation] = {}
_BY_NAME: dict[str, Generation] = {}
_INSTALL_LOCK = threading.Lock()
_HOLDS = 0
_NOTIFY = text(f"SELECT pg_notify({channel_sql(CHANGES)}, :payload)")


def bump_named(name: str) -> None:
    """Bump the generation of the model named ``name`` (module and qualified name) in this process.

    A name no cache here watches is ignored.
    """
    generation = _BY_NAME.get(name)
    if generation is not None:
        generation.bump_here()


def bump_all_here() -> None:
    """Mark every cached read in this process as possibly stale."""
    for generation in list(_GENERATIONS.values()):
        generation.bump_here()


def hold_caching(held: bool) -> None:
    """Take (True) or give back (False) one hold; while any is taken, no cached read is used or kept."""
    global _HOLDS
    with _INSTALL_LOCK:
        _HOLDS = max(0, _HOLDS + (1 if held else -1))


def generation_of(model: type[Any]) -> Generation:
    """The generation of ``model`` (its listeners are installed on first use)."""
    with _INSTALL_LOCK:
        if not _GENERATIONS:
            event.listen(Session, "after_flush", _after_flush)
            event.listen(Session, "after_commit", _after_commit)
            event.listen(Session, "after_soft_rollback", _after_rollback)
        generation = _GENERATIONS.get(model)
        if generation is None:
            generation = _GENERATIONS[model] = Generation(f"{model.__module__}.{model.__qualname__}")
            _BY_NAME[generation.name] = generation
        return generation


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    changed: set[type[Any]] = session.info.setdefault(_KEY, set())
    fresh = {type(obj) for obj in (*session.new, *session.dirty, *session.deleted)}
    fresh = {kind for kind in fresh if kind in _GENERATIONS} - changed
    if not fresh:
        return
    changed |= fresh
    if session.get_bind().dialect.name == "postgresql":
        # In this transaction: other machines hear of it exactly when (and if) it commits.
        names = " ".join(sorted(_GENERATIONS[kind].name for kind in fresh))
        session.connection().execute(_NOTIFY, {"payload": f"{origin()} {names}"})


def _after_commit(session: Session) -> None:
    for kind in session.info.pop(_KEY, ()):
        _GENERATIONS[kind].bump()


def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_KEY, None)


class CachedReads(Generic[K, V]):
    """Results read from the database, valid until a watched model changes here or ``ttl_s`` passes.

    ``ttl_s`` bounds how long a change that no notification told of can go unseen (another machine's on
    SQLite, or one made without the ORM); 0 turns caching off. Ages are
    read on ``clock`` (the system's by default).
    """

    def __init__(
        self, *models: type[Any], ttl_s: float, max_entries: int = 10_000, clock: Clock | None = None
    ) -> None:
        self._generations = tuple(generation_of(model) for model in models)
        self.ttl_s = ttl_s
        self._clock = clock or SystemClock()
        self._max = max_entries
        self._entries: dict[K, tuple[V, tuple[int, ...], float]] = {}

    def snapshot(self) -> tuple[int, ...]:
        """Take this *before* reading the rows, and pass it to ``put``."""
        return tuple(g.value for g in self._generations)

    def get(self, key: K) -> V | None:
        """The cached value, or None when absent, stale or expired."""
        entry = self._entries.get(key)
        if entry is None or _HOLDS:
            return None
        value, seen, filled = entry
        if seen != self.snapshot() or self._clock.monotonic() - filled > self.ttl_s:
            self._entries.pop(key, None)
            return None
        return value

    def put(self, key: K, value: V, seen: tuple[int, ...]) -> None:
        """Keep ``value`` read under generations ``seen`` (dropped at once if they moved since)."""
        if self.ttl_s <= 0 or _HOLDS or seen != self.snapshot():
            return
        if len(self._entries) >= self._max:
            self._entries.clear()  # rare, and cheaper than tracking recency on every hit
        self._entries[key] = (value, seen, self._clock.monotonic())

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
