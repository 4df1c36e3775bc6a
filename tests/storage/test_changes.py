"""Change generations and the reads cached under them."""

from __future__ import annotations

import time

import pytest

from spell.kit.time import utcnow
from spell.models import Tenant
from spell.storage.changes import CachedReads, generation_of
from spell.storage.session import Database


def _tenant(database: Database, name: str) -> None:
    with database.unit_of_work() as uow:
        uow.session.add(Tenant(id=f"t-{name}", name=name, created_at=utcnow()))


def test_a_commit_that_wrote_a_watched_model_bumps_its_generation(database: Database) -> None:
    generation = generation_of(Tenant)
    before = generation.value
    _tenant(database, "a")
    assert generation.value == before + 1


def test_a_rolled_back_write_and_a_read_leave_the_generation_alone(database: Database) -> None:
    generation = generation_of(Tenant)
    before = generation.value

    def write_then_fail() -> None:
        with database.unit_of_work() as uow:
            uow.session.add(Tenant(id="t-gone", name="gone", created_at=utcnow()))
            uow.session.flush()
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        write_then_fail()
    with database.unit_of_work(write=False) as uow:
        assert uow.session.get(Tenant, "t-gone") is None
    assert generation.value == before


def test_a_cached_read_is_dropped_when_its_model_changes(database: Database) -> None:
    cache: CachedReads[str, str] = CachedReads(Tenant, ttl_s=60)
    cache.put("k", "v", cache.snapshot())
    assert cache.get("k") == "v"
    _tenant(database, "b")
    assert cache.get("k") is None


def test_a_value_read_before_a_change_is_never_cached_under_the_new_generation(database: Database) -> None:
    cache: CachedReads[str, str] = CachedReads(Tenant, ttl_s=60)
    seen = cache.snapshot()  # taken before the read...
    _tenant(database, "c")  # ...a writer commits meanwhile...
    cache.put("k", "old", seen)  # ...so what was read may be old: not kept
    assert cache.get("k") is None


def test_a_cached_read_expires_after_its_time_and_zero_turns_caching_off() -> None:
    cache: CachedReads[str, str] = CachedReads(Tenant, ttl_s=0.05)
    cache.put("k", "v", cache.snapshot())
    assert cache.get("k") == "v"
    time.sleep(0.06)
    assert cache.get("k") is None
    off: CachedReads[str, str] = CachedReads(Tenant, ttl_s=0)
    off.put("k", "v", off.snapshot())
    assert off.get("k") is None


def test_a_full_cache_starts_over_rather_than_growing() -> None:
    cache: CachedReads[int, int] = CachedReads(Tenant, ttl_s=60, max_entries=3)
    for key in range(4):
        cache.put(key, key, cache.snapshot())
    assert [cache.get(key) for key in range(4)] == [None, None, None, 3]
