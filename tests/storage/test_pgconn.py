"""PostgreSQL: a transaction's BEGIN travels with its first prepared statement, in one round trip, and
the transaction is the same one as without (its statements together, rolled back together, errors
raised as before)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import Integer, Table, bindparam, func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from spell.errors import DatabaseUnavailable
from spell.kit.time import utcnow
from spell.models import Tenant
from spell.storage import deferred
from spell.storage.prepared import Prepared, commit_in_pipeline, pipelined
from spell.storage.session import Database
from tests.fixtures.database import PG_ADMIN_URL

_XID = Prepared(select(func.pg_current_xact_id()))
_ADD_TENANT = Prepared(
    insert(cast(Table, Tenant.__table__)).values(
        id=bindparam("tid"), name=bindparam("tname"), created_at=bindparam("at")
    )
)


@pytest.fixture
def pg_database(database: Database, database_backend: str) -> Database:
    if database_backend != "postgresql":
        pytest.skip("SQLite has no round trips")
    return database


def _turns(trace: Path) -> int:
    """Round trips: each time the trace turns from what the client sent to what it read."""
    sides = [
        parts[0] if parts[0] in "FB" else parts[1]
        for line in trace.read_text(errors="replace").splitlines()
        if len(parts := line.split("\t")) > 2
    ]
    return sum(1 for index in range(1, len(sides)) if sides[index] == "B" and sides[index - 1] == "F")


def _terminate(raw: Any) -> None:
    """End ``raw``'s session from the server's side, as an operator's ``pg_terminate_backend`` does."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (raw.info.backend_pid,))


def _traced(raw: Any, trace: Path) -> int:
    fd = os.open(trace, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    raw.pgconn.trace(fd)
    return fd


def test_the_first_prepared_statement_carries_the_begin_in_its_round_trip(
    pg_database: Database, tmp_path: Path
) -> None:
    trace = tmp_path / "trace.txt"
    with pg_database.unit_of_work() as uow:
        raw: Any = uow.session.connection().connection.dbapi_connection
        fd = _traced(raw, trace)
        try:
            first = _XID.run(uow.session).fetchone()[0]
            again = _XID.run(uow.session).fetchone()[0]  # inside the transaction: sent as usual
            assigned = uow.session.scalar(text("SELECT pg_current_xact_id_if_assigned()::text"))
        finally:
            uow.session.commit()
            raw.pgconn.untrace()
            os.close(fd)
    assert str(first) == str(again) == assigned  # one transaction, not three autocommitted statements
    assert _turns(trace) == 4  # BEGIN + first, second, third, COMMIT (BEGIN alone would make 5)


def test_a_rolled_back_transaction_takes_its_first_statement_along(pg_database: Database) -> None:
    def failing() -> None:
        with pg_database.unit_of_work() as uow:
            _ADD_TENANT.run(uow.session, {"tid": "ten_x", "tname": "x", "at": utcnow()})
            raise RuntimeError("the work failed")

    with pytest.raises(RuntimeError):
        failing()
    with pg_database.unit_of_work(write=False) as uow:
        assert uow.session.get(Tenant, "ten_x") is None


def test_an_error_of_the_first_statement_is_raised_as_before_and_the_connection_recovers(
    pg_database: Database,
) -> None:
    with pg_database.unit_of_work() as uow:
        _ADD_TENANT.run(uow.session, {"tid": "ten_x", "tname": "x", "at": utcnow()})

    def duplicate() -> None:
        with pg_database.unit_of_work() as uow:
            _ADD_TENANT.run(uow.session, {"tid": "ten_x", "tname": "y", "at": utcnow()})

    for _ in range(3):  # every pooled connection gets the failed one back clean
        with pytest.raises(IntegrityError):
            duplicate()
    with pg_database.unit_of_work() as uow:
        _ADD_TENANT.run(uow.session, {"tid": "ten_y", "tname": "y", "at": utcnow()})
    with pg_database.unit_of_work(write=False) as uow:
        names = set(uow.session.scalars(select(Tenant.name)))
    assert names == {"x", "y"}


def test_a_connection_dropped_before_its_first_statement_is_database_unavailable_and_leaves_the_pool(
    pg_database: Database,
) -> None:
    def lose_the_connection() -> None:
        with pg_database.unit_of_work() as uow:
            raw: Any = uow.session.connection().connection.dbapi_connection
            _terminate(raw)  # no round trip of ours before
            _XID.run(uow.session)  # BEGIN and the statement, on a connection the server ended

    for _ in range(2):  # the second takes a fresh connection, or another old one the server kept
        with pytest.raises(DatabaseUnavailable):
            lose_the_connection()
    with pg_database.unit_of_work() as uow:
        assert _XID.run(uow.session).fetchone()[0]


# The lean path: prepared statements sent by libpq directly -----------------------------------------

# every column given: no Python-side default sends it down SQLAlchemy's path
_ADD = Prepared(
    insert(cast(Table, Tenant.__table__)).values(
        id=bindparam("tid"), name=bindparam("tname"), legal_hold=bindparam("hold"), created_at=bindparam("at")
    )
)
_TENANT_NAME = Prepared(select(Tenant.name).where(Tenant.id == bindparam("tid")))


def _raw(uow: Any) -> Any:
    return uow.session.connection().connection.dbapi_connection


def test_a_statement_is_prepared_once_per_connection_and_reused_across_transactions(
    pg_database: Database,
) -> None:
    with pg_database.unit_of_work() as uow:
        _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "a", "at": utcnow()})
    for _ in range(3):
        with pg_database.unit_of_work(write=False) as uow:
            assert _TENANT_NAME.run(uow.session, {"tid": "ten_a"}).fetchone() == ("a",)
            raw = _raw(uow)
            # what the server holds for this connection: each of our statements once
            held = uow.session.scalars(
                text("SELECT name FROM pg_prepared_statements WHERE name LIKE '\\_spell\\_%'")
            ).all()
            assert sorted(held) == sorted(name.decode() for name in raw._lean_names.values())
            assert len(held) == len(set(held))


def test_a_prepare_aborted_behind_a_failed_statement_is_sent_again(pg_database: Database) -> None:
    with pg_database.unit_of_work() as uow:
        _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "a", "at": utcnow()})
    never_run = Prepared(select(Tenant.name).where(Tenant.name == bindparam("tname")))

    def duplicate_then_new() -> None:
        with pg_database.unit_of_work() as uow, pipelined(uow.session):
            _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "again", "at": utcnow()})
            never_run.run(uow.session, {"tname": "a"})  # its prepare is aborted with the batch

    with pytest.raises(IntegrityError):
        duplicate_then_new()
    with pg_database.unit_of_work(write=False) as uow:
        assert never_run.run(uow.session, {"tname": "a"}).fetchone() == ("a",)


def test_a_result_read_inside_a_batch_sends_the_batch_first_and_later_statements_still_run(
    pg_database: Database,
) -> None:
    with pg_database.unit_of_work() as uow:
        with pipelined(uow.session):
            _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "a", "at": utcnow()})
            assert _TENANT_NAME.run(uow.session, {"tid": "ten_a"}).fetchone() == ("a",)
            _ADD.run(uow.session, {"hold": False, "tid": "ten_b", "tname": "b", "at": utcnow()})
            late = _TENANT_NAME.run(uow.session, {"tid": "ten_b"})
        assert late.fetchone() == ("b",)
        assert late.fetchone() is None
    with pg_database.unit_of_work(write=False) as uow:
        assert set(uow.session.scalars(select(Tenant.name))) == {"a", "b"}


def test_a_statement_on_sqlalchemys_path_inside_a_batch_sees_what_the_batch_wrote(
    pg_database: Database,
) -> None:
    with pg_database.unit_of_work() as uow:
        with pipelined(uow.session):
            _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "a", "at": utcnow()})
            seen = uow.session.scalar(select(Tenant.name).where(Tenant.id == "ten_a"))
        assert seen == "a"


def test_writes_and_the_commit_of_a_batch_cost_one_round_trip(pg_database: Database, tmp_path: Path) -> None:
    trace = tmp_path / "trace.txt"
    with pg_database.unit_of_work() as uow:
        _XID.run(uow.session)  # the transaction is open
        raw = _raw(uow)
        fd = _traced(raw, trace)
        try:
            with pipelined(uow.session):
                _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "a", "at": utcnow()})
                _ADD.run(uow.session, {"hold": False, "tid": "ten_b", "tname": "b", "at": utcnow()})
                commit_in_pipeline(uow.session)
            ended = raw.pgconn.transaction_status
            uow.session.commit()  # finds the transaction ended: sends nothing
        finally:
            raw.pgconn.untrace()
            os.close(fd)
    assert _turns(trace) == 1
    assert ended == 0  # IDLE: committed by the batch
    with pg_database.unit_of_work(write=False) as uow:
        assert set(uow.session.scalars(select(Tenant.name))) == {"a", "b"}


def test_rowcount_and_values_round_trip_through_psycopgs_adapters(pg_database: Database) -> None:
    with pg_database.unit_of_work() as uow:
        at = utcnow()
        _ADD.run(uow.session, {"hold": False, "tid": "ten_ü", "tname": "naïve 'quoted' %s", "at": at})
        renamed = Prepared(
            cast(Table, Tenant.__table__)
            .update()
            .where(Tenant.id == bindparam("tid"))
            .values(name=bindparam("n"))
        )
        assert renamed.run(uow.session, {"tid": "ten_ü", "n": "renamed"}).rowcount == 1
        assert renamed.run(uow.session, {"tid": "nobody", "n": "x"}).rowcount == 0
        row = Prepared(select(Tenant.name, Tenant.created_at).where(Tenant.id == bindparam("tid"))).run(
            uow.session, {"tid": "ten_ü"}
        )
        assert row.fetchall() == [("renamed", at)]


def test_statements_are_prepared_again_after_psycopg_deallocates_all(pg_database: Database) -> None:
    with pg_database.unit_of_work() as uow:
        _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "a", "at": utcnow()})
        raw = _raw(uow)
        for _ in range(6):  # psycopg prepares a statement of its own from the fifth run on
            uow.session.execute(text("SELECT 1 WHERE 1 = :one"), {"one": 1})

    def rolled_back() -> None:
        with pg_database.unit_of_work() as uow:
            assert _raw(uow) is raw
            assert _TENANT_NAME.run(uow.session, {"tid": "ten_a"}).fetchone() == ("a",)
            raise RuntimeError("rolled back: psycopg then sends DEALLOCATE ALL")

    with pytest.raises(RuntimeError):
        rolled_back()
    with pg_database.unit_of_work(write=False) as uow:
        assert _raw(uow) is raw
        held = uow.session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
        assert _TENANT_NAME.run(uow.session, {"tid": "ten_a"}).fetchone() == ("a",)
    assert held == 0  # everything went, ours too, and ours was prepared again


def test_a_statement_whose_values_the_recipe_cannot_reproduce_keeps_the_general_way(
    pg_database: Database,
) -> None:
    from sqlalchemy import literal_column

    ticks = iter(range(100))
    # a value computed per execution: a recipe learnt once would freeze it
    counted = Prepared(
        select(
            literal_column("1").label("one"), bindparam("tick", callable_=lambda: next(ticks), type_=Integer)
        ).where(bindparam("on", type_=Integer) == 1)
    )
    with pg_database.unit_of_work(write=False) as uow:
        seen = [counted.run(uow.session, {"on": 1}).fetchone()[1] for _ in range(3)]
    assert seen == [0, 1, 2]
    plans = list(counted._lean_plans.values())
    assert len(plans) == 1
    assert plans[0] is not None
    assert plans[0].recipe is None


@pytest.mark.parametrize("lost", ["an answer", "the pipeline's end"])
def test_a_pipeline_whose_answers_do_not_add_up_fails_the_unit_of_work_and_the_next_one_works(
    pg_database: Database, monkeypatch: pytest.MonkeyPatch, lost: str
) -> None:
    from psycopg import generators
    from psycopg.pq import ExecStatus

    from spell.storage import pgconn

    fetched: list[int] = []

    def fetch_many(conn: Any) -> Any:
        # Read the real answers (so nothing is left behind) and drop one of them.
        results = yield from generators.fetch_many(conn)
        fetched.append(len(results))
        is_sync = bool(results) and results[0].status == ExecStatus.PIPELINE_SYNC
        return [] if is_sync == (lost == "the pipeline's end") else results

    monkeypatch.setattr(pgconn, "generators", SimpleNamespace(send=generators.send, fetch_many=fetch_many))
    # The connection is left mid-pipeline: it leaves the pool, and the caller is told to try again.
    with pytest.raises(DatabaseUnavailable) as raised, pg_database.unit_of_work(write=False) as uow:
        _TENANT_NAME.run(uow.session, {"tid": "ten_a"}).fetchone()
    causes = []
    error: BaseException | None = raised.value
    while error is not None:
        causes.append(str(error))
        error = error.__cause__ or error.__context__
    expected = "went missing" if lost == "the pipeline's end" else "fewer statements"
    assert any(expected in cause for cause in causes), causes
    assert fetched  # the patched reader was the one used
    monkeypatch.undo()
    with pg_database.unit_of_work(write=False) as uow:
        assert _TENANT_NAME.run(uow.session, {"tid": "ten_a"}).fetchone() is None


# A unit of work read at its commit (``one_trip``) -------------------------------------------------


def _add_deferred(session: Session, tenants: list[str]) -> None:
    for tid in tenants:
        _ADD.run(session, {"hold": False, "tid": tid, "tname": tid, "at": utcnow()})


deferred.register("test.pgconn.tenant", _add_deferred, order=50)


def _names(database: Database) -> set[str]:
    with database.unit_of_work(write=False) as uow:
        return set(uow.session.scalars(select(Tenant.name)))


def test_a_one_trip_unit_of_work_sends_its_statements_deferred_writes_and_commit_in_one_round_trip(
    pg_database: Database, tmp_path: Path
) -> None:
    trace = tmp_path / "trace.txt"
    fd = -1
    with pg_database.unit_of_work(one_trip=True) as uow:
        raw = _raw(uow)
        fd = _traced(raw, trace)
        _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "a", "at": utcnow()})
        _ADD.run(uow.session, {"hold": False, "tid": "ten_b", "tname": "b", "at": utcnow()})
        deferred.defer(uow.session, "test.pgconn.tenant", "ten_c")
    raw.pgconn.untrace()
    os.close(fd)
    assert _turns(trace) == 1  # BEGIN, three inserts and COMMIT
    assert raw.pgconn.transaction_status == 0  # IDLE: nothing left open
    assert _names(pg_database) == {"a", "b", "ten_c"}


def test_a_one_trip_unit_of_work_with_nothing_deferred_reads_its_statements_then_commits(
    pg_database: Database,
) -> None:
    with pg_database.unit_of_work(one_trip=True) as uow:
        _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "a", "at": utcnow()})
        raw = _raw(uow)
        assert raw.pgconn.pipeline_status  # sent, not read yet
    assert raw.pgconn.transaction_status == 0
    assert _names(pg_database) == {"a"}


def test_a_refused_statement_of_a_one_trip_unit_of_work_fails_its_commit_and_nothing_is_written(
    pg_database: Database,
) -> None:
    with pg_database.unit_of_work() as uow:
        _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "a", "at": utcnow()})
    went_on: list[str] = []

    def duplicate() -> None:
        with pg_database.unit_of_work(one_trip=True) as uow:
            _ADD.run(uow.session, {"hold": False, "tid": "ten_b", "tname": "b", "at": utcnow()})
            _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "again", "at": utcnow()})
            deferred.defer(uow.session, "test.pgconn.tenant", "ten_c")
            went_on.append("the refusal is not known yet")

    with pytest.raises(IntegrityError):
        duplicate()
    assert went_on
    assert _names(pg_database) == {"a"}
    with pg_database.unit_of_work(one_trip=True) as uow:  # the connection is back in step
        _ADD.run(uow.session, {"hold": False, "tid": "ten_d", "tname": "d", "at": utcnow()})
    assert _names(pg_database) == {"a", "d"}


def test_a_batch_left_by_an_exception_raises_that_exception_not_the_servers_refusal(
    pg_database: Database,
) -> None:
    with pg_database.unit_of_work() as uow:
        _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "a", "at": utcnow()})

    def refused_then_failed() -> None:
        with pg_database.unit_of_work(one_trip=True) as uow:
            _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "again", "at": utcnow()})
            raise LookupError("the work failed on its own")

    with pytest.raises(LookupError, match="on its own"):
        refused_then_failed()
    with pg_database.unit_of_work() as uow:
        _ADD.run(uow.session, {"hold": False, "tid": "ten_b", "tname": "b", "at": utcnow()})
    assert _names(pg_database) == {"a", "b"}


def test_a_batch_left_by_an_exception_on_a_lost_connection_says_the_database_is_unavailable(
    pg_database: Database,
) -> None:

    def lost_then_failed() -> None:
        with pg_database.unit_of_work(one_trip=True) as uow:
            raw = _raw(uow)
            _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "a", "at": utcnow()})
            _terminate(raw)
            raise LookupError("the work failed on its own")

    with pytest.raises(DatabaseUnavailable) as failed:
        lost_then_failed()
    chain: list[BaseException] = []
    error: BaseException | None = failed.value
    while error is not None and len(chain) < 10:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert any(isinstance(each, LookupError) for each in chain)  # what failed first is kept
    with pg_database.unit_of_work() as uow:
        _ADD.run(uow.session, {"hold": False, "tid": "ten_b", "tname": "b", "at": utcnow()})
    assert _names(pg_database) == {"b"}


def test_a_rollback_inside_an_open_batch_reads_what_was_sent_and_rolls_it_back(
    pg_database: Database,
) -> None:
    with pg_database.unit_of_work() as uow, pipelined(uow.session):
        _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "a", "at": utcnow()})
        _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "refused", "at": utcnow()})
        uow.session.rollback()  # refused or not, what the batch sent goes
        assert not _raw(uow).pgconn.pipeline_status
        _ADD.run(uow.session, {"hold": False, "tid": "ten_b", "tname": "b", "at": utcnow()})
    assert _names(pg_database) == {"b"}


def test_a_rollback_inside_an_open_batch_on_a_lost_connection_raises_and_the_pool_replaces_it(
    pg_database: Database,
) -> None:

    def lost_then_rolled_back() -> None:
        with pg_database.unit_of_work() as uow, pipelined(uow.session):
            raw = _raw(uow)
            _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "a", "at": utcnow()})
            _terminate(raw)
            uow.session.rollback()

    with pytest.raises((DBAPIError, DatabaseUnavailable)):
        lost_then_rolled_back()
    with pg_database.unit_of_work() as uow:
        _ADD.run(uow.session, {"hold": False, "tid": "ten_b", "tname": "b", "at": utcnow()})
    assert _names(pg_database) == {"b"}


_XACT_LOCK = Prepared(select(func.pg_advisory_xact_lock(bindparam("k", type_=Integer))))


def _lock_is_free(key: int) -> bool:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), autocommit=True) as other:
        free = other.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        assert free is not None
        if free[0]:
            other.execute("SELECT pg_advisory_unlock(%s)", (key,))
        return bool(free[0])


def test_a_pipelines_statements_reach_the_server_as_they_run_and_a_plain_batchs_with_its_end(
    pg_database: Database,
) -> None:
    with pg_database.unit_of_work() as uow, pipelined(uow.session):
        _XACT_LOCK.run(uow.session, {"k": 7001})
        assert not _lock_is_free(7001)  # taken by the server before the block read anything
    with pg_database.unit_of_work() as uow:
        raw = _raw(uow)
        with raw.batch():
            raw.run(b"SELECT pg_advisory_xact_lock($1)", (7002,))
            assert _lock_is_free(7002)  # still in this side's buffer: it leaves with the batch's end
        assert not _lock_is_free(7002)


def test_a_connection_lost_before_a_one_trip_commit_is_database_unavailable_and_nothing_is_written(
    pg_database: Database,
) -> None:

    def lost_before_the_commit() -> None:
        with pg_database.unit_of_work(one_trip=True) as uow:
            raw = _raw(uow)
            _ADD.run(uow.session, {"hold": False, "tid": "ten_a", "tname": "a", "at": utcnow()})
            deferred.defer(uow.session, "test.pgconn.tenant", "ten_c")
            _terminate(raw)

    with pytest.raises(DatabaseUnavailable):
        lost_before_the_commit()
    with pg_database.unit_of_work(one_trip=True) as uow:  # the pool handed out a working connection
        _ADD.run(uow.session, {"hold": False, "tid": "ten_b", "tname": "b", "at": utcnow()})
    assert _names(pg_database) == {"b"}
