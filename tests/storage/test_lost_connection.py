"""A database connection the server drops (restart, failover, ``pg_terminate_backend``) is a clean
503 ``DATABASE_UNAVAILABLE`` with a retry hint, on SQLAlchemy's path and on prepared statements, and
the pool recovers with new connections."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from spell.errors import DatabaseUnavailable
from spell.models import Spell
from spell.storage.deferred import defer, register
from spell.storage.lost import connection_lost
from spell.storage.prepared import Prepared, pipelined
from spell.storage.session import Database, UnitOfWork
from tests.fixtures.database import PG_ADMIN_URL

_BUMP = Prepared(update(Spell).where(Spell.id == "nobody/none").values(cast_count=Spell.cast_count + 1))


def _drop_own_connection(uow: UnitOfWork) -> None:
    from sqlalchemy import create_engine

    pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            conn.commit()
    finally:
        admin.dispose()


@pytest.fixture
def pg_database(database: Database, database_backend: str) -> Database:
    if database_backend != "postgresql":
        pytest.skip("only a server drops connections")
    return database


def test_a_dropped_connection_is_database_unavailable_and_the_next_unit_of_work_works(
    pg_database: Database,
) -> None:
    def lose_the_connection() -> None:
        with pg_database.unit_of_work() as uow:
            _drop_own_connection(uow)
            uow.session.execute(text("SELECT 1"))

    with pytest.raises(DatabaseUnavailable) as caught:
        lose_the_connection()
    assert caught.value.retry_after == 1
    assert caught.value.status_code == 503
    with pg_database.unit_of_work(write=False) as uow:
        assert uow.session.execute(text("SELECT 1")).scalar_one() == 1


def test_a_connection_dropped_under_a_prepared_statement_is_database_unavailable(
    pg_database: Database,
) -> None:
    def lose_the_connection() -> None:
        with pg_database.unit_of_work() as uow:
            _drop_own_connection(uow)
            _BUMP.run(uow.session, {})

    with pytest.raises(DatabaseUnavailable):
        lose_the_connection()
    with pg_database.unit_of_work() as uow:
        assert _BUMP.run(uow.session, {}).rowcount == 0


def test_other_database_errors_stay_what_they_are(pg_database: Database) -> None:
    from sqlalchemy.exc import ProgrammingError

    with pytest.raises(ProgrammingError), pg_database.unit_of_work() as uow:
        uow.session.execute(text("SELECT * FROM no_such_table"))


def _pooled_backends(database: Database, count: int) -> list[int]:
    """Open ``count`` pooled connections at once; their server process ids (back in the pool after)."""
    with ExitStack() as stack:
        units = [stack.enter_context(database.unit_of_work(write=False)) for _ in range(count)]
        return [uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one() for uow in units]


def _terminate(pids: list[int]) -> None:
    from sqlalchemy import create_engine

    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.connect() as conn:
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            conn.commit()
    finally:
        admin.dispose()


@pytest.mark.parametrize("path", ["orm", "prepared"])
def test_after_a_server_restart_one_unit_of_work_fails_and_the_pool_replaces_every_old_connection(
    pg_database: Database, path: str
) -> None:
    # No pre-ping: the first statement on a dropped connection finds it; the rest of the pool, opened
    # before, is replaced rather than handed out dead to the next callers.
    pids = _pooled_backends(pg_database, 3)
    _terminate(pids)

    def use() -> None:
        with pg_database.unit_of_work() as uow:
            if path == "orm":
                uow.session.execute(text("SELECT 1"))
            else:
                _BUMP.run(uow.session, {})

    with pytest.raises(DatabaseUnavailable):
        use()
    for _ in range(3):
        use()
    assert not set(_pooled_backends(pg_database, 3)) & set(pids)


_SLEEP = Prepared(select(func.pg_sleep(0.4)))


@pytest.mark.parametrize("path", ["orm", "prepared"])
@pytest.mark.parametrize("when", ["queued", "running"])
def test_a_connection_dropped_inside_a_pipeline_is_database_unavailable_and_leaves_the_pool(
    pg_database: Database, path: str, when: str
) -> None:
    # The server's error arrives as a statement's result while the socket still looks open, and the
    # driver cannot then leave pipeline mode: the connection must not go back to the pool like that.
    def lose_the_connection() -> None:
        with pg_database.unit_of_work() as uow:
            pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with pipelined(uow.session):
                _BUMP.run(uow.session, {})
                if when == "queued":
                    _terminate([pid])
                else:
                    threading.Timer(0.1, _terminate, [[pid]]).start()
                if path == "orm":
                    uow.session.execute(text("SELECT pg_sleep(0.4)"))
                else:
                    _SLEEP.run(uow.session, {})
                _BUMP.run(uow.session, {})

    with pytest.raises(DatabaseUnavailable):
        lose_the_connection()
    for _ in range(3):
        with pg_database.unit_of_work() as uow:
            assert _BUMP.run(uow.session, {}).rowcount == 0
            assert uow.session.execute(text("SELECT 1")).scalar_one() == 1


def test_a_connection_dropped_while_the_commit_pipeline_runs_is_database_unavailable(
    pg_database: Database,
) -> None:
    # The deferred writes and COMMIT go in one pipeline: the server ends the backend while it sleeps
    # in the pipeline's middle statement, with COMMIT queued behind it.
    register("test.sleep", lambda session, _items: _SLEEP.run(session, {}), order=1_000_000)

    def commit_while_dropped() -> None:
        with pg_database.unit_of_work() as uow:
            pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            _BUMP.run(uow.session, {})
            defer(uow.session, "test.sleep", None)
            defer(uow.session, "test.sleep", None)
            threading.Timer(0.1, _terminate, [[pid]]).start()

    with pytest.raises(DatabaseUnavailable):
        commit_while_dropped()
    for _ in range(3):
        with pg_database.unit_of_work() as uow:
            assert _BUMP.run(uow.session, {}).rowcount == 0


def test_the_servers_shutdown_error_means_a_lost_connection_even_while_the_socket_looks_open(
    pg_database: Database,
) -> None:
    import psycopg

    dialect = pg_database.engine.dialect
    with pg_database.engine.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        assert not raw.broken  # what SQLAlchemy's own check looks at
        assert connection_lost(dialect, psycopg.errors.AdminShutdown("terminating connection"), raw)
        assert connection_lost(dialect, psycopg.errors.CannotConnectNow("starting up"), raw)
        assert not connection_lost(dialect, psycopg.errors.UndefinedTable("no such table"), raw)
        # psycopg raises its own error while handling the server's, which it keeps as the context.
        busy = psycopg.OperationalError("cannot exit pipeline mode while busy")
        busy.__context__ = psycopg.errors.AdminShutdown("terminating connection")
        assert connection_lost(dialect, busy, raw)
        assert not connection_lost(
            dialect, psycopg.OperationalError("cannot exit pipeline mode while busy"), raw
        )


def test_a_shutdown_error_on_an_open_socket_is_database_unavailable_on_sqlalchemys_path(
    pg_database: Database,
) -> None:
    import psycopg
    from sqlalchemy import event

    def shut_down(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "pg_sleep" in statement:
            raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")

    event.listen(pg_database.engine, "before_cursor_execute", shut_down)
    try:
        with pytest.raises(DatabaseUnavailable), pg_database.unit_of_work() as uow:
            uow.session.execute(text("SELECT pg_sleep(0)"))
    finally:
        event.remove(pg_database.engine, "before_cursor_execute", shut_down)
    with pg_database.unit_of_work() as uow:
        assert uow.session.execute(text("SELECT 1")).scalar_one() == 1
