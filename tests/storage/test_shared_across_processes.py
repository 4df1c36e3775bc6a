"""What processes of one data dir share: SQLite's writer lock (a flock) and the cache generations."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from spell.storage import changes
from spell.storage.changes import CachedReads, SharedCounters, share_generations
from spell.storage.writer_lock import WriterLock

HOLD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from spell.storage.writer_lock import WriterLock
    lock = WriterLock(Path(sys.argv[1]))
    with lock:
        print("held", flush=True)
        sys.stdin.read()  # until the test closes our stdin
    """
)


def test_a_writer_in_another_process_holds_the_lock_until_it_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "platform.db.writer"
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        lock = WriterLock(path)
        assert lock.acquire(blocking=False) is False
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(timeout=20) == 0
        assert lock.acquire() is True  # blocking: handed over once the holder exited
        lock.release()
        lock.close()


def test_the_lock_is_reentrant_in_a_thread_and_released_by_the_outermost_exit(tmp_path: Path) -> None:
    path = tmp_path / "w"
    lock, other = WriterLock(path), WriterLock(path)
    with lock:
        with lock:
            assert other.acquire(blocking=False) is False  # another description of the file: refused
        assert other.acquire(blocking=False) is False  # the outer hold still counts
    assert other.acquire(blocking=False) is True
    other.release()


BUMP = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from spell.models import ApiKey
    from spell.storage.changes import generation_of, share_generations
    share_generations(Path(sys.argv[1]))
    generation_of(ApiKey).bump()
    """
)


@pytest.fixture
def shared(tmp_path: Path):  # type: ignore[no-untyped-def]
    previous = changes._SHARED
    share_generations(tmp_path / "run" / "generations")
    yield tmp_path / "run" / "generations"
    changes._SHARED = previous


def test_a_write_in_another_process_makes_this_process_read_again(shared: Path) -> None:
    from spell.models import ApiKey

    cache: CachedReads[str, str] = CachedReads(ApiKey, ttl_s=3600)
    cache.put("k", "old principal", cache.snapshot())
    assert cache.get("k") == "old principal"
    subprocess.run([sys.executable, "-c", BUMP, str(shared)], check=True, timeout=60)
    assert cache.get("k") is None  # another process changed an API key: read it again


def test_shared_counters_start_at_zero_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "gens"
    first = SharedCounters(path)
    assert [first.read(slot) for slot in range(SharedCounters.SLOTS)] == [0] * SharedCounters.SLOTS
    first.bump(3)
    first.bump(3)
    second = SharedCounters(path)
    assert second.read(3) == 2
    assert second.read(4) == 0
    first.close()
    second.close()


def test_with_shared_counters_a_bump_here_adds_exactly_one(shared: Path) -> None:
    from spell.models import ApiKey
    from spell.storage.changes import generation_of

    generation = generation_of(ApiKey)
    before = generation.value
    generation.bump()
    assert generation.value == before + 1
