"""``CastHub``: wake-ups from worker threads, and waiters that only care about the end of a cast."""

from __future__ import annotations

import threading

import pytest

from spell.platform.cast.hub import CastHub, wait_event

pytestmark = pytest.mark.anyio


async def test_a_waiter_for_the_end_sleeps_through_a_move_and_wakes_at_the_end() -> None:
    hub = CastHub()
    with hub.watch("cast_1", terminal_only=True) as end, hub.watch("cast_1") as any_move:
        hub.notify("cast_1", terminal=False)
        assert await wait_event(any_move, 1.0)
        assert not end.is_set()
        worker = threading.Thread(target=hub.notify, args=("cast_1",))
        worker.start()
        assert await wait_event(end, 1.0)
        worker.join()


async def test_a_move_with_only_end_waiters_keeps_them_registered() -> None:
    hub = CastHub()
    with hub.watch("cast_1", terminal_only=True) as end:
        hub.notify("cast_1", terminal=False)
        hub.notify("cast_1")
        assert await wait_event(end, 1.0)
    assert hub.waiting() == 0


async def test_notifying_a_cast_nobody_watches_does_nothing() -> None:
    hub = CastHub()
    hub.notify("cast_2", terminal=False)
    hub.notify("cast_2")
    assert hub.waiting() == 0


async def test_a_finished_watch_is_not_woken_and_leaves_the_others_registered() -> None:
    hub = CastHub()
    with hub.watch("cast_1") as other:
        with hub.watch("cast_1") as done:
            assert hub.waiting() == 2
        assert hub.waiting() == 1
        hub.notify("cast_1")
        assert await wait_event(other, 1.0)
    assert not done.is_set()
    assert hub.waiting() == 0


def test_the_hub_tells_whether_a_cast_may_have_ended_since_a_mark() -> None:
    hub = CastHub()
    mark = hub.mark()
    assert not hub.may_have_ended("cast_1", mark)
    hub.notify("cast_1", terminal=False)
    assert not hub.may_have_ended("cast_1", mark)
    hub.notify("cast_1")
    assert hub.may_have_ended("cast_1", mark)


def test_a_cast_forgotten_for_space_counts_as_maybe_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("spell.platform.cast.hub._ENDED_KEPT", 2)
    hub = CastHub()
    mark = hub.mark()
    for cast_id in ("cast_1", "cast_2", "cast_3"):
        hub.notify(cast_id)
    assert hub.may_have_ended("cast_1", mark)  # more ends than it keeps came since the mark
    later = hub.mark()
    assert hub.may_have_ended("cast_3", later)  # still remembered as ended (a safe "maybe")
    assert not hub.may_have_ended(
        "cast_1", later
    )  # forgotten: the oldest end made room    assert not hub.may_have_ended("cast_9", hub.mark())


async def test_an_end_handed_over_reaches_each_waiter_and_a_move_hands_nothing() -> None:
    hub = CastHub()
    ended = object()
    with hub.watch("cast_1") as first, hub.watch("cast_1", terminal_only=True) as second:
        hub.notify("cast_1", terminal=False)
        assert await wait_event(first, 1.0)
        assert first.ended is None
    with hub.watch("cast_1") as first, hub.watch("cast_1", terminal_only=True) as second:
        worker = threading.Thread(target=lambda: hub.notify("cast_1", ended=ended))  # type: ignore[arg-type]
        worker.start()
        assert await wait_event(first, 1.0)
        assert await wait_event(second, 1.0)
        worker.join()
        assert first.ended is ended
        assert second.ended is ended


async def test_a_job_let_go_without_an_end_wakes_its_waiter_and_one_that_ended_does_not_again() -> None:
    hub = CastHub()
    with hub.watch("cast_1", terminal_only=True) as woke:
        with hub.holding("cast_1"), hub.holding("cast_1"):  # a duplicate job held beside it
            assert hub.held("cast_1")
        # the claim found the cast taken elsewhere: the waiter must read it now
        assert await wait_event(woke, 1.0)
        assert woke.ended is None
    assert not hub.held("cast_1")
    mark = hub.mark()
    assert hub.may_have_ended("cast_1", mark)  # a watch that starts now reads the cast

    told: list[str] = []
    notify = hub.notify

    def counted(cast_id: str, **kwargs: object) -> None:
        told.append(cast_id)
        notify(cast_id, **kwargs)  # type: ignore[arg-type]

    hub.notify = counted  # type: ignore[method-assign]
    with hub.holding("cast_2"):
        hub.notify("cast_2")  # ended here: its waiters were woken with the end
    assert told == ["cast_2"]
