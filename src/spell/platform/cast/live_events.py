"""A running cast's ``progress`` and ``log`` events, written as its steps report them.

They are informative: a write that fails is logged and the cast goes on, and nothing is written once
the cast ended (``CastService.add_running_event``). Step output is kept up to a budget per cast so a
chatty step cannot fill the database; past it one ``log`` event says the rest was cut.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

__all__ = ["LOG_BUDGET_CHARS", "PROGRESS_DETAIL_CHARS", "LiveEvents"]

_log = logging.getLogger(__name__)

LOG_BUDGET_CHARS = 64 * 1024  # step output per cast sent as log events (the result keeps it all)
PROGRESS_DETAIL_CHARS = 500  # a step's message can be long; the event keeps its start


class _Writer(Protocol):
    def add_running_event(self, cast_id: str, type_: str, data: dict[str, Any]) -> bool: ...


class LiveEvents:
    """The event sinks of one cast; parallel steps share them, so writes go one at a time."""

    def __init__(self, writer: _Writer, cast_id: str, *, log_budget: int = LOG_BUDGET_CHARS) -> None:
        self._writer = writer
        self.cast_id = cast_id
        self._lock = threading.Lock()
        self._log_left = log_budget
        self._log_cut = False

    def progress(self, event: str, step: str, detail: str) -> None:
        """A step started, ended, was skipped or rolled back."""
        self._write("progress", {"event": event, "step": step, "detail": detail[:PROGRESS_DETAIL_CHARS]})

    def log(self, step: str, stream: str, text: str) -> None:
        """Lines a step wrote, while the budget lasts."""
        with self._lock:
            if self._log_cut:
                return
            kept = text[: self._log_left]
            self._log_left -= len(kept)
            self._log_cut = len(kept) < len(text)
        if kept:
            self._write("log", {"step": step, "stream": stream, "text": kept})
        if self._log_cut:
            self._write("log", {"step": step, "stream": stream, "text": "", "truncated": True})

    def _write(self, type_: str, data: dict[str, Any]) -> None:
        try:
            with self._lock:
                self._writer.add_running_event(self.cast_id, type_, data)
        except Exception:  # informative only: losing an event must not fail the cast
            _log.exception("cast %s: a %s event was not recorded", self.cast_id, type_)
