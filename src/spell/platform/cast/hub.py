"""In-process wake-ups: a worker thread tells waiting requests (``Prefer: wait``, SSE) that a cast moved.

The database stays the source of truth: a wake-up only means "read again". Waiters also re-read on a
timeout, so a missed notification (another process finished the cast) costs latency, never
correctness.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spell.models import Cast

__all__ = ["CancelTokens", "CastHub", "Wake", "wait_event"]

_ENDED_KEPT = 4096


class Wake(asyncio.Event):
    """A waiter's event; ``ended`` is the cast as its end wrote it, when the ender handed it over, so a
    waiter that already may read the cast need not read it again."""

    ended: Cast | None = None


class CastHub:
    """Per-cast sets of asyncio events, set from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (loop, event, terminal_only): a ``Prefer: wait`` waiter only cares about the end of a cast.
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, Wake, bool]]] = defaultdict(set)
        # Casts that ended here lately: a request that just created a cast can tell, without reading
        # the database, whether it may already have ended before the request started watching.
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._ended_total = 0
        # Casts whose job a queue worker of this process holds right now (how many workers hold it):
        # if such a cast ends, it ends here, and the hub hears of it (``holding``).
        self._held: dict[str, int] = {}

    def notify(self, cast_id: str, *, terminal: bool = True, ended: Cast | None = None) -> None:
        """Wake everything waiting on ``cast_id`` (thread-safe); ``terminal=False`` (the cast moved but
        has not ended) leaves the waiters that asked for the end only. ``ended``: the cast as its end
        was committed, handed to each waiter (``Wake.ended``)."""
        with self._lock:
            if terminal:
                self._ended[cast_id] = None
                self._ended_total += 1
                if len(self._ended) > _ENDED_KEPT:
                    self._ended.popitem(last=False)
                waiters = self._waiters.pop(cast_id, set())
            else:
                bucket = self._waiters.get(cast_id, set())
                waiters = {entry for entry in bucket if not entry[2]}
                bucket -= waiters
                if not bucket:
                    self._waiters.pop(cast_id, None)
        for loop, event, _ in waiters:
            if ended is not None:
                event.ended = ended
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that request's loop has closed; nobody is waiting any more
                continue

    def mark(self) -> int:
        """A bookmark to take *before* creating a cast, for ``may_have_ended``."""
        with self._lock:
            return self._ended_total

    def may_have_ended(self, cast_id: str, since: int) -> bool:
        """False only when ``cast_id`` surely has not ended in this process since ``since`` (``mark``):
        no terminal notification for it was sent, and none could have been forgotten for space."""
        with self._lock:
            return cast_id in self._ended or self._ended_total - since >= _ENDED_KEPT

    @contextmanager
    def holding(self, cast_id: str) -> Iterator[None]:
        """A queue worker of this process holds ``cast_id``'s job for the block.

        A waiter that skipped reading the cast because it is held here (``held``) is woken when the
        block ends without a terminal notification for it (the claim found the cast taken by another
        process, or the job was deferred): it reads the cast then, instead of sleeping out its
        re-read interval.
        """
        with self._lock:
            self._held[cast_id] = self._held.get(cast_id, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._held.pop(cast_id) - 1
                if left:
                    self._held[cast_id] = left
                told = cast_id in self._ended
            if not told:
                self.notify(cast_id)

    def held(self, cast_id: str) -> bool:
        """True while a queue worker of this process holds the cast's job (``holding``). Ask it after
        ``watch``: a block that ends later wakes the watcher."""
        with self._lock:
            return cast_id in self._held

    @contextmanager
    def watch(self, cast_id: str, *, terminal_only: bool = False) -> Iterator[Wake]:
        """Register for wake-ups *before* reading the cast: a change between read and wait is not lost.

        ``terminal_only`` sleeps through notifications that the cast merely moved (queued → running).
        """
        entry = (asyncio.get_running_loop(), Wake(), terminal_only)
        with self._lock:
            self._waiters[cast_id].add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                bucket = self._waiters.get(cast_id)
                if bucket is not None:
                    bucket.discard(entry)
                    if not bucket:
                        del self._waiters[cast_id]

    def waiting(self) -> int:
        """How many waiters are registered, over all casts."""
        with self._lock:
            return sum(len(bucket) for bucket in self._waiters.values())

    async def wait(self, cast_id: str, timeout: float) -> bool:
        """Wait until the next notification for ``cast_id`` or ``timeout`` seconds; True if notified."""
        with self.watch(cast_id) as event:
            return await wait_event(event, timeout)


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; True when it was set."""
    try:
        await asyncio.wait_for(event.wait(), timeout=max(timeout, 0.0))
    except TimeoutError:
        return False
    return True


class CancelTokens:
    """The cancel signal of each cast running in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, threading.Event] = {}

    def open(self, cast_id: str) -> threading.Event:
        """Create the token a runtime watches while ``cast_id`` runs here."""
        with self._lock:
            return self._tokens.setdefault(cast_id, threading.Event())

    def close(self, cast_id: str) -> None:
        """Forget the token once the cast ended."""
        with self._lock:
            self._tokens.pop(cast_id, None)

    def is_running(self, cast_id: str) -> bool:
        """True while ``cast_id`` runs in this process."""
        with self._lock:
            return cast_id in self._tokens

    def cancel(self, cast_id: str) -> bool:
        """Signal the runtime; False when the cast does not run in this process."""
        with self._lock:
            token = self._tokens.get(cast_id)
        if token is None:
            return False
        token.set()
        return True
