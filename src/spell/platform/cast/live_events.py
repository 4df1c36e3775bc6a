"""A running cast's ``progress`` and ``log`` events, written as its steps report them.

Steps report on their own threads, some of them inside the loop that enforces a step's deadline and
cancel, so reporting never waits for the database: events go into a bounded queue that one writer
thread per cast drains, and ``close`` lets it finish before the cast's end is recorded. The events
are informative: a failed write is logged and the cast goes on, a full queue drops (and counts)
events, and nothing is written once the cast ended (``CastService.add_running_event``). Step output
is kept up to a budget per cast; past it one ``log`` event says the rest was cut.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Protocol

__all__ = ["LOG_BUDGET_CHARS", "MAX_PENDING", "PROGRESS_DETAIL_CHARS", "EventWriter", "LiveEvents"]

_log = logging.getLogger(__name__)

LOG_BUDGET_CHARS = 64 * 1024  # step output per cast sent as log events (the result keeps it all)
PROGRESS_DETAIL_CHARS = 500  # a step's message can be long; the event keeps its start
MAX_PENDING = 1_000  # events waiting for the writer before new ones are dropped
_CLOSE = None


class EventWriter(Protocol):
    """Appends an event to a running cast (``CastService.add_running_event``)."""

    def add_running_event(self, cast_id: str, type_: str, data: dict[str, Any]) -> bool:
        """Write the event; False (nothing written) once the cast ended."""
        ...


class LiveEvents:
    """The event sinks of one cast, for any number of step threads."""

    def __init__(
        self,
        writer: EventWriter,
        cast_id: str,
        *,
        log_budget: int = LOG_BUDGET_CHARS,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._writer = writer
        self.cast_id = cast_id
        self._lock = threading.Lock()
        self._log_left = log_budget
        self._log_cut = False
        self.dropped = 0
        self._pending: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue(max_pending)
        self._thread: threading.Thread | None = None

    def progress(self, event: str, step: str, detail: str) -> None:
        """A step started, ended, was skipped or rolled back."""
        self._put("progress", {"event": event, "step": step, "detail": detail[:PROGRESS_DETAIL_CHARS]})

    def log(self, step: str, stream: str, text: str) -> None:
        """Lines a step wrote, while the budget lasts."""
        with self._lock:
            if self._log_cut:
                return
            kept = text[: self._log_left]
            self._log_left -= len(kept)
            self._log_cut = len(kept) < len(text)
        if kept:
            self._put("log", {"step": step, "stream": stream, "text": kept})
        if self._log_cut:
            self._put("log", {"step": step, "stream": stream, "text": "", "truncated": True})

    def close(self, timeout_s: float = 5.0) -> bool:
        """Write what is queued (waiting at most ``timeout_s``), then stop; False when time ran out."""
        with self._lock:
            thread = self._thread
        if thread is None:
            return True
        try:
            self._pending.put(_CLOSE, timeout=timeout_s)
        except queue.Full:
            return False
        thread.join(timeout_s)
        return not thread.is_alive()

    def _put(self, type_: str, data: dict[str, Any]) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, name="spell-cast-events", daemon=True)
                self._thread.start()
        try:
            self._pending.put_nowait((type_, data))
        except queue.Full:
            with self._lock:
                self.dropped += 1
                first = self.dropped == 1
            if first:
                _log.warning("cast %s: events come faster than they are written; dropping some", self.cast_id)

    def _drain(self) -> None:
        while (item := self._pending.get()) is not _CLOSE:
            type_, data = item
            try:
                self._writer.add_running_event(self.cast_id, type_, data)
            except Exception:  # informative only: losing an event must not fail the cast
                _log.exception("cast %s: a %s event was not recorded", self.cast_id, type_)
