"""A spell's cast counter: counted at the commit, exact while pending, folded by the sweep without
losing or doubling a cast, under concurrent casts and folds and across rolled-back transactions."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from spell.kit.time import utcnow
from spell.models import Publisher, Spell, SpellCastCount, Tenant
from spell.platform.cast.repository import CastRepository
from spell.platform.spell import counts
from spell.storage.session import Database

SPELLS = ("acme/one", "acme/two")


@pytest.fixture
def spells(database: Database) -> Database:
    now = utcnow()
    with database.unit_of_work() as uow:
        uow.session.add(Tenant(id="ten_a", name="a", created_at=now))
        uow.session.flush()
        uow.session.add(Publisher(name="acme", tenant_id="ten_a", created_at=now))
        uow.session.flush()
        for spell_id in SPELLS:
            uow.session.add(
                Spell(
                    id=spell_id,
                    publisher="acme",
                    tenant_id="ten_a",
                    name=spell_id.split("/")[1],
                    tags=[],
                    latest_version="1.0.0",
                    cast_count=7,
                    created_at=now,
                    updated_at=now,
                )
            )
    return database


def _row(db: Database, spell_id: str) -> int:
    with db.unit_of_work(write=False) as uow:
        return int(uow.session.scalar(select(Spell.cast_count).where(Spell.id == spell_id)) or 0)


def _exact(db: Database, spell_id: str) -> int:
    with db.unit_of_work(write=False) as uow:
        return counts.exact(uow.session, spell_id)


def _pending_rows(db: Database) -> int:
    with db.unit_of_work(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(SpellCastCount)) or 0)


def _fold(db: Database) -> None:
    while True:
        with db.unit_of_work() as uow:
            if counts.fold(uow.session) < counts.FOLD_BATCH:
                return


def test_a_cast_counts_at_its_commit_and_reads_exactly_before_and_after_the_fold(spells: Database) -> None:
    repo = CastRepository()
    with spells.unit_of_work() as uow:
        repo.count_cast(uow, "acme/one")
        repo.count_cast(uow, "acme/one")
        repo.count_cast(uow, "acme/two")
        assert counts.exact(uow.session, "acme/one") == 7  # not before the commit
    assert (_exact(spells, "acme/one"), _exact(spells, "acme/two")) == (9, 8)
    postgres = spells.engine.dialect.name == "postgresql"
    # PostgreSQL leaves the spell's row alone until the fold; SQLite updates it at once
    assert _row(spells, "acme/one") == (7 if postgres else 9)
    _fold(spells)
    assert (_row(spells, "acme/one"), _row(spells, "acme/two")) == (9, 8)
    assert (_exact(spells, "acme/one"), _exact(spells, "acme/two")) == (9, 8)
    assert _pending_rows(spells) == 0
    assert _exact(spells, "acme/none") == 0


def test_a_rolled_back_cast_and_a_rolled_back_fold_change_nothing(spells: Database) -> None:
    repo = CastRepository()

    def failed_cast() -> None:
        with spells.unit_of_work() as uow:
            repo.count_cast(uow, "acme/one")
            raise RuntimeError("the cast failed")

    def failed_fold() -> None:
        with spells.unit_of_work() as uow:
            counts.fold(uow.session)
            raise RuntimeError("the sweep died")

    with pytest.raises(RuntimeError):
        failed_cast()
    assert _exact(spells, "acme/one") == 7
    with spells.unit_of_work() as uow:
        repo.count_cast(uow, "acme/one")
    # a fold whose transaction dies (a crash before its commit) leaves the pending count where it was
    with pytest.raises(RuntimeError):
        failed_fold()
    assert _exact(spells, "acme/one") == 8
    _fold(spells)
    assert _row(spells, "acme/one") == 8


def test_concurrent_casts_racing_folds_lose_and_double_nothing(spells: Database) -> None:
    repo = CastRepository()
    threads, per_thread = 8, 40
    errors: list[BaseException] = []
    casting = threading.Barrier(threads + 1)
    done = threading.Event()

    def cast_many(index: int) -> None:
        try:
            casting.wait()
            for n in range(per_thread):
                with spells.unit_of_work() as uow:
                    repo.count_cast(uow, SPELLS[(index + n) % 2])
                    if n % 10 == 9:
                        repo.count_cast(uow, SPELLS[0])  # two spells in one transaction
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def fold_often() -> None:
        try:
            casting.wait()
            while not done.is_set():
                _fold(spells)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=cast_many, args=(i,)) for i in range(threads)]
    folder = threading.Thread(target=fold_often)
    for thread in [*workers, folder]:
        thread.start()
    for thread in workers:
        thread.join()
    done.set()
    folder.join()
    assert errors == []
    each = threads * per_thread // 2
    expected = (7 + each + threads * (per_thread // 10), 7 + each)
    assert (_exact(spells, "acme/one"), _exact(spells, "acme/two")) == expected
    _fold(spells)
    assert (_row(spells, "acme/one"), _row(spells, "acme/two")) == expected
    assert _pending_rows(spells) == 0
