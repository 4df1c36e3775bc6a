"""Change generations: a counter per watched model, bumped after every commit that wrote its rows.

Hot read paths (API key lookup, spell resolution on every cast) keep results in memory and tag them
with the generation they were read under; a commit in this process that inserted, updated or deleted
a row of that model through the ORM bumps the generation, so the next read misses and goes back to
the database. The bump happens *after* the commit: a reader racing a writer may cache the old row
under the old generation, never the old row under the new one. Other processes' writes are not seen
here; callers bound that with a short time to live.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

__all__ = ["CachedReads", "Generation", "generation_of"]

K = TypeVar("K")
V = TypeVar("V")

_KEY = "spell.changed_models"


class Generation:
    """A counter that only grows; read ``value`` before reading the rows it guards."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def bump(self) -> None:
        """Mark every result read before now as possibly stale."""
        with self._lock:
            self.value += 1


_GENERATIONS: dict[type[Any], Generation] = {}
_INSTALL_LOCK = threading.Lock()


def generation_of(model: type[Any]) -> Generation:
    """The generation of ``model`` (its listeners are installed on first use)."""
    with _INSTALL_LOCK:
        if not _GENERATIONS:
            event.listen(Session, "after_flush", _after_flush)
            event.listen(Session, "after_commit", _after_commit)
            event.listen(Session, "after_soft_rollback", _after_rollback)
        return _GENERATIONS.setdefault(model, Generation())


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    changed: set[type[Any]] = session.info.setdefault(_KEY, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        kind = type(obj)
        if kind in _GENERATIONS:
            changed.add(kind)


def _after_commit(session: Session) -> None:
    for kind in session.info.pop(_KEY, ()):
        _GENERATIONS[kind].bump()


def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_KEY, None)


class CachedReads(Generic[K, V]):
    """Results read from the database, valid until a watched model changes here or ``ttl_s`` passes.

    ``ttl_s`` bounds how long another process's change can go unseen; 0 turns caching off.
    """

    def __init__(self, *models: type[Any], ttl_s: float, max_entries: int = 10_000) -> None:
        self._generations = tuple(generation_of(model) for model in models)
        self.ttl_s = ttl_s
        self._max = max_entries
        self._entries: dict[K, tuple[V, tuple[int, ...], float]] = {}

    def snapshot(self) -> tuple[int, ...]:
        """Take this *before* reading the rows, and pass it to ``put``."""
        return tuple(g.value for g in self._generations)

    def get(self, key: K) -> V | None:
        """The cached value, or None when absent, stale or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, seen, filled = entry
        if seen != self.snapshot() or time.monotonic() - filled > self.ttl_s:
            self._entries.pop(key, None)
            return None
        return value

    def put(self, key: K, value: V, seen: tuple[int, ...]) -> None:
        """Keep ``value`` read under generations ``seen`` (dropped at once if they moved since)."""
        if self.ttl_s <= 0 or seen != self.snapshot():
            return
        if len(self._entries) >= self._max:
            self._entries.clear()  # rare, and cheaper than tracking recency on every hit
        self._entries[key] = (value, seen, time.monotonic())

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
