"""Engines for SQLite (WAL, foreign keys, busy timeout, explicit BEGIN) and PostgreSQL.

pysqlite's own transaction handling starts transactions lazily and never as ``IMMEDIATE``; we turn it
off and emit ``BEGIN`` ourselves so that read-then-write paths can take the write lock up front
(``engine.execution_options(sqlite_begin="IMMEDIATE")``) instead of failing on lock upgrade.

PostgreSQL text cannot hold NUL (U+0000): a statement with such a string is refused before it is sent,
on both backends alike, as ``VALIDATION_ERROR``, so the two answer the same (PostgreSQL would raise a
driver error, SQLite would store the name or miss the lookup).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from spell.errors import InvalidInput
from spell.kit.private_files import DIR_MODE, private_file
from spell.kit.search_words import SQL_FUNCTION, indexed
from spell.storage import lost

__all__ = ["make_engine", "write_engine"]

_BEGIN_MODES = {"DEFERRED", "IMMEDIATE"}


def make_engine(
    url: str,
    *,
    echo: bool = False,
    connect_args: dict[str, Any] | None = None,
    pool_size: int = 20,
    max_overflow: int = 20,
) -> Engine:
    """Create an engine for ``url``; SQLite files get WAL, foreign keys and a busy timeout. The pool
    sizes apply to PostgreSQL."""
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url, echo=echo)
    else:
        engine = create_engine(
            url,
            echo=echo,
            # No pre-ping: it costs a round trip on every checkout. A connection the server dropped
            # fails its first statement instead; that unit of work answers DATABASE_UNAVAILABLE, and
            # SQLAlchemy then retires every connection of the pool opened before the loss.
            # Connections open as concurrency needs them, up to 40 (anyio's request threads; the
            # inline cast threads and queue workers add a few). 20 stay open so a steady load does
            # not reconnect over and over (each new connection costs the server a process).
            pool_size=pool_size,
            max_overflow=max_overflow,
            connect_args=dict(connect_args or {}),
        )
        lost.install(engine)
        if engine.dialect.driver == "psycopg":
            event.listen(engine, "do_connect", _one_trip_begin)
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    return engine


def _one_trip_begin(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    # psycopg's own connect, on a class whose first statement may carry the BEGIN (``pgconn``)
    from spell.storage.pgconn import OneTripBegin

    return OneTripBegin.connect(*cargs, **cparams)


def _refuse_nul(
    _conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, executemany: bool
) -> None:
    for row in parameters if executemany else (parameters,):
        for value in row.values() if isinstance(row, dict) else row or ():
            if type(value) is str and "\x00" in value:
                raise InvalidInput("text may not contain NUL (U+0000) characters")


def write_engine(engine: Engine) -> Engine:
    """The same engine, but SQLite transactions begin ``IMMEDIATE`` (no-op elsewhere)."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_begin="IMMEDIATE")
    return engine


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if path and path != ":memory:":
        _private_database_file(Path(path.split("?", 1)[0]))
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": 30},
        # Pooled, not reopened (and re-pragma'd) per session (NullPool). LIFO: each connection keeps its
        # own page cache, which any other connection's commit makes stale; handing out the connection
        # used last (most often the last writer's) keeps the cache warm instead of rotating through all.
        poolclass=None if path and path != ":memory:" else NullPool,
        **({"pool_use_lifo": True} if path and path != ":memory:" else {}),
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # the catalog's triggers store each spell's search words through it (spell.models.spell_search)
        dbapi_connection.create_function(SQL_FUNCTION, 3, indexed, deterministic=True)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode not in _BEGIN_MODES:
            raise ValueError(f"unknown SQLite begin mode {mode!r}")
        # Straight to the driver: every transaction begins here, and SQLAlchemy's execution path
        # (``exec_driver_sql``) took 14 µs of Python for a statement the driver runs in 1.
        statement = f"BEGIN {mode}"
        try:
            conn.connection.dbapi_connection.execute(statement)
        except sqlite3.Error as exc:  # as SQLAlchemy's path raises it (``OperationalError`` …)
            raise DBAPIError.instance(statement, (), exc, sqlite3.Error, dialect=conn.dialect) from exc

    return engine


def _private_database_file(path: Path) -> None:
    # The folder is made owner-only only when we create it: an existing one may be shared on purpose
    # (e.g. /tmp). The file is created 0600 before SQLite opens it, and SQLite gives its -wal and -shm
    # files the database file's mode; ones left by an older version are tightened here.
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        sidecar = path.with_name(path.name + suffix)
        if sidecar.exists():
            private_file(sidecar)
