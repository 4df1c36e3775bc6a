"""The unit of work: one session and transaction per request, job or CLI command.

Services and repositories only ``flush()``. Work that must happen only if the transaction commits
(publishing queue jobs, waking waiters) is registered with ``after_commit`` and run after ``COMMIT``,
so a rolled-back cast is never run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from spell.errors import DatabaseUnavailable
from spell.storage.deferred import OWN_COMMIT
from spell.storage.engine import write_engine
from spell.storage.writer_lock import WriterLock

__all__ = ["Database", "UnitOfWork"]


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
    """Session factories over one engine: read transactions and write (``BEGIN IMMEDIATE``) ones."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        own = {OWN_COMMIT: True}  # the session's commit ends its transaction (``deferred``)
        self._read = sessionmaker(bind=engine, expire_on_commit=False, info=own)
        self._write = sessionmaker(bind=write_engine(engine), expire_on_commit=False, info=own)
        self._writer = _sqlite_writer(engine)

    @contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[UnitOfWork]:
        """Open a transaction; commit on success, roll back on any exception."""
        factory = self._write if write else self._read
        writer = self._writer if write and self._writer is not None else nullcontext()
        with writer, factory() as session:
            uow = UnitOfWork(session)
            try:
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

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self._writer is not None:
            self._writer.close()


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
