"""A running cast's progress and log events: budgets, truncation, and failures that stay quiet."""

from __future__ import annotations

from typing import Any

import pytest

from spell.platform.cast.live_events import PROGRESS_DETAIL_CHARS, LiveEvents


class Recorder:
    def __init__(self, *, fail: bool = False) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.fail = fail

    def add_running_event(self, cast_id: str, type_: str, data: dict[str, Any]) -> bool:
        if self.fail:
            raise RuntimeError("database is gone")
        self.events.append((cast_id, type_, data))
        return True


def test_progress_is_one_event_with_the_detail_cut_short() -> None:
    writer = Recorder()
    live = LiveEvents(writer, "cast_1")

    live.progress("failed", "build", "x" * 2000)

    ((cast_id, kind, data),) = writer.events
    assert (cast_id, kind, data["event"], data["step"]) == ("cast_1", "progress", "failed", "build")
    assert len(data["detail"]) == PROGRESS_DETAIL_CHARS


def test_log_stops_at_its_budget_with_one_truncated_marker() -> None:
    writer = Recorder()
    live = LiveEvents(writer, "cast_1", log_budget=10)

    live.log("s", "stdout", "123456\n")
    live.log("s", "stderr", "abcdef\n")
    live.log("s", "stdout", "never sent\n")

    assert [data for _, _, data in writer.events] == [
        {"step": "s", "stream": "stdout", "text": "123456\n"},
        {"step": "s", "stream": "stderr", "text": "abc"},
        {"step": "s", "stream": "stderr", "text": "", "truncated": True},
    ]


def test_a_failed_write_is_logged_and_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    live = LiveEvents(Recorder(fail=True), "cast_9")

    live.progress("started", "s", "attempt 1/1")
    live.log("s", "stdout", "line\n")

    assert [r.getMessage() for r in caplog.records] == [
        "cast cast_9: a progress event was not recorded",
        "cast cast_9: a log event was not recorded",
    ]
