"""A database connection the server drops (restart, failover, ``pg_terminate_backend``) is a clean
503 ``DATABASE_UNAVAILABLE`` with a retry hint, on SQLAlchemy's path and on prepared statements, and
the pool recovers with new connections."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from sqlalchemy import text, update

from spell.errors import DatabaseUnavailable
from spell.models import Spell
from spell.storage.prepared import Prepared
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
