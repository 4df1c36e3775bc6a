from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from spell.kit.clock import Clock, FakeClock, SystemClock

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_the_system_clock_reads_aware_utc_and_a_monotonic_clock_that_does_not_go_back() -> None:
    clock = SystemClock()
    first, second = clock.monotonic(), clock.monotonic()
    assert second >= first
    now = clock.now()
    assert now.utcoffset() == timedelta(0)
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(SystemClock(), Clock)
    assert isinstance(FakeClock(START), Clock)


def test_a_fake_clock_stands_still_until_advanced_and_then_moves_both_readings() -> None:
    clock = FakeClock(START)
    assert clock.now() == START
    assert clock.monotonic() == 0.0
    clock.advance(1.5)
    assert clock.now() == START + timedelta(seconds=1.5)
    assert clock.monotonic() == 1.5


def test_a_fake_clock_reads_in_utc_whatever_zone_it_started_in() -> None:
    clock = FakeClock(START.astimezone(timezone(timedelta(hours=2))))
    assert clock.now() == START
    assert clock.now().utcoffset() == timedelta(0)


def test_a_fake_clock_refuses_a_naive_start_and_a_step_back() -> None:
    with pytest.raises(ValueError, match="time zone"):
        FakeClock(datetime(2026, 1, 1))  # noqa: DTZ001 - the naive time is the point
    clock = FakeClock(START)
    with pytest.raises(ValueError, match="back"):
        clock.advance(-1)
    assert clock.monotonic() == 0.0


def test_a_fake_clock_loses_no_step_when_advanced_from_several_threads() -> None:
    clock = FakeClock(START)

    def step_a_hundred_times() -> None:
        for _ in range(100):
            clock.advance(1)

    threads = [threading.Thread(target=step_a_hundred_times) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.monotonic() == 400.0
    assert clock.now() == START + timedelta(seconds=400)
