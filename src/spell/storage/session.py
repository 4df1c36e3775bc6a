"""The unit of work: one session and transaction per request, job or CLI command.

Services and repositories only ``flush()``. Work that must happen only if the transaction commits
(publishing queue jobs, waking waiters) is registered with ``after_commit`` and run after ``COMMIT``,
so a rolled-back cast is never run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from spell.errors import DatabaseUnavailable
from spell.storage import yielding
from spell.storage.deferred import OWN_COMMIT
from spell.storage.engine import make_engine, write_engine
from spell.storage.prepared import pipelined
from spell.storage.writer_lock import WriterLock

__all__ = ["LOOP_CONNECTIONS", "Database", "UnitOfWork", "open_database"]

_log = logging.getLogger(__name__)

# PostgreSQL: quick casts on the event loop, at most this many at once (each holds one of the loop
# engine's connections while it waits). The loop's thread is one core: a few keep it busy while the
# others wait on the database.
LOOP_CONNECTIONS = 8


class UnitOfWork:
    """A session plus the callbacks to run once its transaction committed."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after a successful commit (dropped on rollback)."""
        self._after_commit.append(callback)

    def _run_after_commit(self) -> None:
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()


class Database:
    """Session factories over one engine: read transactions and write (``BEGIN IMMEDIATE``) ones.

    ``loop_engine`` (PostgreSQL): the connections of code run on the event loop by ``yielding.run``,
    whose units of work take them. Its pool is never waited for: ``loop_connections`` bounds how many
    such units of work may run at once, so a checkout would only wait for a holder suspended on the
    loop, which cannot go on while the loop's thread waits.
    """

    def __init__(self, engine: Engine, *, loop_engine: Engine | None = None) -> None:
        self.engine = engine
        own = {OWN_COMMIT: True}  # the session's commit ends its transaction (``deferred``)
        self._read = sessionmaker(bind=engine, expire_on_commit=False, info=own)
        self._write = sessionmaker(bind=write_engine(engine), expire_on_commit=False, info=own)
        self._writer = _sqlite_writer(engine)
        self.loop_engine = loop_engine
        self.loop_connections = 0
        if loop_engine is not None:
            event.listen(loop_engine, "checkout", _may_yield)
            self.loop_connections = loop_engine.pool.size()  # type: ignore[attr-defined]
            self._loop_read = sessionmaker(bind=loop_engine, expire_on_commit=False, info=own)
            self._loop_write = sessionmaker(bind=write_engine(loop_engine), expire_on_commit=False, info=own)

    @contextmanager
    def unit_of_work(self, *, write: bool = True, one_trip: bool = False) -> Iterator[UnitOfWork]:
        """Open a transaction; commit on success, roll back on any exception.

        ``one_trip`` (PostgreSQL): every statement is sent as it is run but read only when a result is
        asked for or the transaction commits (``prepared.pipelined``), so a unit of work that reads
        nothing back costs one round trip, COMMIT included. A statement's error may then surface at
        the commit: use it only where that is expected (``CastRepository.create``'s ``key_at_commit``).
        """
        if self.loop_engine is not None and yielding.active():
            factory = self._loop_write if write else self._loop_read
        else:
            factory = self._write if write else self._read
        writer = self._writer if write and self._writer is not None else nullcontext()
        with writer, factory() as session:
            uow = UnitOfWork(session)
            try:
                with pipelined(session) if one_trip else nullcontext():
                    yield uow
                    session.commit()
            except DBAPIError as exc:
                _rollback(session)
                if exc.connection_invalidated:
                    # The server dropped the connection (a restart, a failover, an operator's
                    # pg_terminate_backend): the pool opens new ones, so the caller may retry soon.
                    raise DatabaseUnavailable(
                        "the database connection was lost; try again", retry_after=1
                    ) from exc
                raise
            except BaseException:
                session.rollback()
                raise
        uow._run_after_commit()

    def open_loop_connections(self) -> int:
        """Open the loop engine's connections now, on this thread; how many are open (0 without a loop
        engine). A connection's opening cannot yield to the loop (its set-up runs under SQLAlchemy's
        thread lock, and psycopg's connect waits on its own): opened ahead, it never holds the loop up.
        A database that does not answer is logged, and the first casts open them."""
        if self.loop_engine is None:
            return 0
        held = []
        try:
            for _ in range(self.loop_connections):
                held.append(self.loop_engine.connect())
        except DBAPIError as exc:
            _log.warning("the loop's database connections were not opened ahead: %s", exc.orig or exc)
        finally:
            for connection in held:
                connection.close()  # back to the pool, open
        return len(held)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self.loop_engine is not None:
            self.loop_engine.dispose()
        if self._writer is not None:
            self._writer.close()


def open_database(url: str, *, loop_connections: int = LOOP_CONNECTIONS) -> Database:
    """The database at ``url``; on PostgreSQL with a loop engine of ``loop_connections`` (0: none)."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite" or loop_connections <= 0:
        return Database(engine)
    return Database(engine, loop_engine=make_engine(url, pool_size=loop_connections, max_overflow=0))


def _may_yield(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    # a loop connection's waits may yield to the loop from now on (``pgconn.OneTripBegin.wait``)
    dbapi_connection.may_yield = True


def _rollback(session: Session) -> None:
    with suppress(DBAPIError):  # the connection is gone, and its transaction with it
        session.rollback()


def _sqlite_writer(engine: Engine) -> WriterLock | None:
    """SQLite's writers queue on a lock (see ``writer_lock``); an in-memory database has no file to share."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return WriterLock(None)
    return WriterLock(Path(f"{database}.writer"))
