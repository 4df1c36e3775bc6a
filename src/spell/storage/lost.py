"""Whether a database error means the connection is gone rather than that the statement was wrong.

SQLAlchemy's psycopg dialect asks the connection whether it is closed or broken. A backend the server
ends (a restart, a failover, ``pg_terminate_backend``) while a statement runs answers first with an
error result (SQLSTATE 57P01), and the socket can still look open at that moment; in pipeline mode
the driver then also refuses to leave the pipeline ("cannot exit pipeline mode while busy"), with the
server's error only as the context of its own. Both mean the same as a closed socket: this connection
will never answer again, so it must leave the pool and the caller may retry on a new one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

__all__ = ["connection_lost", "install"]

# Class 08 (connection exception), and the server's own shutdown, crash and start-up refusals.
_LOST_STATES = frozenset({"57P01", "57P02", "57P03"})


def connection_lost(dialect: Any, error: BaseException, connection: Any) -> bool:
    """True when ``error`` (or an error it was raised from or while handling) says the connection is gone.

    ``connection`` is the DB-API connection or SQLAlchemy's proxy of it (None when there is none).
    """
    if isinstance(error, dialect.loaded_dbapi.Error) and dialect.is_disconnect(error, connection, None):
        return True
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None) or ""
        if state.startswith("08") or state in _LOST_STATES:
            return True
        current = current.__cause__ or current.__context__
    return False


def install(engine: Engine) -> None:
    """Make SQLAlchemy's own execution path treat such errors as a disconnect (the pool drops them)."""
    event.listen(engine, "handle_error", _classify)


def _classify(context: ExceptionContext) -> None:
    error = context.original_exception
    if context.is_disconnect or error is None:
        return
    raw = context.connection.connection if context.connection is not None else None
    if connection_lost(context.dialect, error, raw):
        context.is_disconnect = True
