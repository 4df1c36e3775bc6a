"""Writes deferred to the commit: run once, in kind order, after a last flush; dropped on rollback."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from spell.kit.time import utcnow
from spell.models import Tenant
from spell.storage import deferred
from spell.storage.session import Database

SEEN: list[tuple[str, list[Any]]] = []


def _late(session: Session, items: list[Any]) -> None:
    SEEN.append(("late", items))


def _early(session: Session, items: list[Any]) -> None:
    SEEN.append(("early", items))


deferred.register("test.late", _late, order=10_000)
deferred.register("test.early", _early, order=-10_000)


@pytest.fixture(autouse=True)
def _clear() -> None:
    SEEN.clear()


def test_items_are_handed_over_at_the_commit_by_kind_order(database: Database) -> None:
    with database.unit_of_work() as uow:
        deferred.defer(uow.session, "test.late", 1)
        deferred.defer(uow.session, "test.early", "a")
        deferred.defer(uow.session, "test.late", 2)
        assert SEEN == []
    assert SEEN == [("early", ["a"]), ("late", [1, 2])]


def test_a_rolled_back_transaction_hands_over_nothing(database: Database) -> None:
    def failing() -> None:
        with database.unit_of_work() as uow:
            deferred.defer(uow.session, "test.late", 1)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing()
    with database.unit_of_work() as uow:
        deferred.defer(uow.session, "test.late", 2)
    assert SEEN == [("late", [2])]


def test_a_rolled_back_savepoint_drops_only_its_own_items(database: Database) -> None:
    with database.unit_of_work() as uow:
        deferred.defer(uow.session, "test.late", "before")
        savepoint = uow.session.begin_nested()
        deferred.defer(uow.session, "test.late", "inside")
        savepoint.rollback()
        with uow.session.begin_nested():
            deferred.defer(uow.session, "test.late", "kept")
    assert SEEN == [("late", ["before", "kept"])]


def test_a_session_rolled_back_before_it_touched_the_database_forgets_its_items(database: Database) -> None:
    with Session(database.engine) as session:
        deferred.defer(session, "test.late", "dropped")
        session.rollback()
        deferred.defer(session, "test.late", "written")
        session.commit()
    assert SEEN == [("late", ["written"])]


def test_orm_changes_are_flushed_before_the_deferred_writes_run(database: Database) -> None:
    def check_flushed(session: Session, items: list[Any]) -> None:
        SEEN.append(("flushed", [not session.new]))

    deferred.register("test.flush_check", check_flushed, order=0)
    with database.unit_of_work() as uow:
        uow.session.add(Tenant(id="ten_deferred", name="t", created_at=utcnow()))
        deferred.defer(uow.session, "test.flush_check", None)
    assert SEEN == [("flushed", [True])]


def test_an_unregistered_kind_is_refused(database: Database) -> None:
    with database.unit_of_work() as uow, pytest.raises(ValueError, match="no handler"):
        deferred.defer(uow.session, "test.unknown", 1)


def test_the_commit_ends_the_transaction_with_the_deferred_writes(database: Database) -> None:
    # On PostgreSQL the COMMIT rides in the deferred writes' pipeline; either way the writes and the
    # rows of the transaction are committed together, and the session's own commit adds nothing.
    with database.unit_of_work() as uow:
        uow.session.add(Tenant(id="ten_commit", name="c", created_at=utcnow()))
        deferred.defer(uow.session, "test.late", 1)
    with database.unit_of_work(write=False) as uow:
        assert uow.session.get(Tenant, "ten_commit") is not None
    assert SEEN == [("late", [1])]


def test_a_savepoint_commit_does_not_end_the_transaction(database: Database) -> None:
    def rolled_back() -> None:
        with database.unit_of_work() as uow:
            with uow.session.begin_nested():
                uow.session.add(Tenant(id="ten_nested", name="n", created_at=utcnow()))
                deferred.defer(uow.session, "test.late", "inner")
            raise RuntimeError("after the savepoint")

    with pytest.raises(RuntimeError):
        rolled_back()
    with database.unit_of_work(write=False) as uow:
        assert uow.session.get(Tenant, "ten_nested") is None


def test_a_failing_deferred_write_fails_the_commit_and_keeps_nothing(database: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    from spell.platform.cast.repository import CastRepository

    def commit_a_duplicate() -> None:
        with database.unit_of_work() as uow:
            uow.session.add(Tenant(id="ten_failed", name="f", created_at=utcnow()))
            uow.session.flush()
            uow.session.add(Tenant(id="ten_failed_too", name="g", created_at=utcnow()))
            CastRepository().count_cast(uow, "no/such-spell")  # an update of no row: not an error
            deferred.defer(uow.session, "test.duplicate", "ten_failed")

    with pytest.raises(IntegrityError):
        commit_a_duplicate()
    with database.unit_of_work(write=False) as uow:
        assert uow.session.get(Tenant, "ten_failed") is None
        assert uow.session.get(Tenant, "ten_failed_too") is None
    with database.unit_of_work() as uow:  # the connection went back to the pool usable
        uow.session.add(Tenant(id="ten_after", name="a", created_at=utcnow()))
    with database.unit_of_work(write=False) as uow:
        assert uow.session.get(Tenant, "ten_after") is not None


def _duplicate(session: Session, items: list[Any]) -> None:
    from sqlalchemy import insert

    from spell.storage.prepared import Prepared

    for tenant_id in items:
        Prepared(insert(Tenant)).run(
            session, {"id": tenant_id, "name": "dup", "legal_hold": False, "created_at": utcnow()}
        )


deferred.register("test.duplicate", _duplicate, order=50)
