"""A running cast's progress and log events: a writer thread, budgets, truncation, and failures that
stay quiet."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from spell.platform.cast.live_events import PROGRESS_DETAIL_CHARS, LiveEvents


class Recorder:
    def __init__(self, *, fail: bool = False, gate: threading.Event | None = None) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.fail = fail
        self.gate = gate

    def add_running_event(self, cast_id: str, type_: str, data: dict[str, Any]) -> bool:
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail:
            raise RuntimeError("database is gone")
        self.events.append((cast_id, type_, data))
        return True


def test_progress_is_one_event_with_the_detail_cut_short() -> None:
    writer = Recorder()
    live = LiveEvents(writer, "cast_1")

    live.progress("failed", "build", "x" * 2000)
    assert live.close()

    ((cast_id, kind, data),) = writer.events
    assert (cast_id, kind, data["event"], data["step"]) == ("cast_1", "progress", "failed", "build")
    assert len(data["detail"]) == PROGRESS_DETAIL_CHARS


def test_log_stops_at_its_budget_with_one_truncated_marker() -> None:
    writer = Recorder()
    live = LiveEvents(writer, "cast_1", log_budget=10)

    live.log("s", "stdout", "123456\n")
    live.log("s", "stderr", "abcdef\n")
    live.log("s", "stdout", "never sent\n")
    assert live.close()

    assert [data for _, _, data in writer.events] == [
        {"step": "s", "stream": "stdout", "text": "123456\n"},
        {"step": "s", "stream": "stderr", "text": "abc"},
        {"step": "s", "stream": "stderr", "text": "", "truncated": True},
    ]


def test_a_slow_database_never_holds_up_the_step_that_reports() -> None:
    gate = threading.Event()
    writer = Recorder(gate=gate)
    live = LiveEvents(writer, "cast_1", max_pending=3)

    started = time.monotonic()
    for index in range(10):
        live.log("s", "stdout", f"{index}\n")
    reported = time.monotonic() - started
    gate.set()
    assert live.close()

    assert reported < 1.0  # the writer was stuck the whole time
    assert live.dropped >= 6  # at most the queue's 3 and the one being written got through
    written = [int(data["text"]) for _, _, data in writer.events]
    assert len(written) == 10 - live.dropped
    # the first three filled the queue; which later ones got in depends on when the writer thread
    # took the first, but they keep their order
    assert written[:3] == [0, 1, 2]
    assert written == sorted(set(written))


def test_close_gives_up_on_a_writer_that_does_not_finish() -> None:
    gate = threading.Event()
    live = LiveEvents(Recorder(gate=gate), "cast_1", max_pending=1)
    live.progress("started", "s", "")
    live.progress("succeeded", "s", "")

    assert live.close(timeout_s=0.2) is False
    gate.set()
    assert live.close()  # once the database answers, the writer ends


def test_close_without_events_starts_no_thread() -> None:
    assert LiveEvents(Recorder(), "cast_1").close(timeout_s=0) is True


def test_a_failed_write_is_logged_and_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    live = LiveEvents(Recorder(fail=True), "cast_9")

    live.progress("started", "s", "attempt 1/1")
    live.log("s", "stdout", "line\n")
    assert live.close()

    assert [r.getMessage() for r in caplog.records] == [
        "cast cast_9: a progress event was not recorded",
        "cast cast_9: a log event was not recorded",
    ]
