"""Ids sort by when they were made, within a millisecond too."""

from __future__ import annotations

import threading
import time

import pytest

from spell.kit import ids
from spell.kit.ids import new_id


def test_ids_made_in_one_burst_sort_in_the_order_they_were_made() -> None:
    made = [new_id("x") for _ in range(5000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_a_clock_stepping_back_does_not_reorder_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    first = new_id("x")
    monkeypatch.setattr(time, "time", lambda: 1_000_000.0)  # far in the past
    assert new_id("x") > first


def test_the_last_random_value_of_a_millisecond_moves_to_the_next_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    future = 2**47  # later than the clock: every id now is made in this millisecond
    monkeypatch.setattr(ids, "_last_ms", future)
    monkeypatch.setattr(ids, "_last_random", (1 << 80) - 1)
    last = new_id("x", now_ms=future)
    following = new_id("x")
    assert ids._last_ms == future + 1
    assert following > last


def test_threads_never_make_the_same_id() -> None:
    made: list[str] = []

    def burst() -> None:
        made.extend(new_id("x") for _ in range(2000))

    threads = [threading.Thread(target=burst) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(made)) == 8000


def test_a_given_time_is_the_ids_time() -> None:
    assert new_id("x", now_ms=0) < new_id("x", now_ms=1) < new_id("x")
    assert new_id("exec", now_ms=0).startswith("exec_0000000000")
