"""Statements run on the DB-API cursor of a unit of work's connection, compiled once per dialect.

SQLAlchemy spends about 25 µs of Python on each ``Session.execute`` (execution context, events, result
objects); a SQLite statement itself takes 1 or 2 µs. The few statements every cast runs are the same each
time, so they are compiled once per dialect and parameter set, their parameters converted by the
column types' own bind processors, and run straight on the cursor, inside the session's transaction.
A statement that needs what only the full path does (Python-side column defaults) takes that path.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import Compiled

from spell.storage.lost import connection_lost

if TYPE_CHECKING:  # psycopg is the PostgreSQL extra: SQLite-only installs lack it
    from spell.storage.pgconn import OneTripBegin

__all__ = ["Prepared", "commit_in_pipeline", "pipelined"]


class _Plan:
    __slots__ = ("compiled", "positional", "processors", "sql")

    def __init__(self, compiled: Compiled) -> None:
        self.compiled = compiled
        self.sql = compiled.string
        self.positional: Sequence[str] | None = getattr(compiled, "positiontup", None)
        self.processors: Mapping[str, Any] = getattr(compiled, "_bind_processors", {})

    def args(self, params: Mapping[str, Any]) -> Any:
        values: dict[str, Any] = dict(self.compiled.construct_params(dict(params)) or {})
        for name, process in self.processors.items():
            if name in values:
                values[name] = process(values[name])
        if self.positional is not None:
            return tuple(values[name] for name in self.positional)
        return values


class _LeanPlan(_Plan):
    """On PostgreSQL: the statement with ``$n`` placeholders (as bytes) for ``OneTripBegin.run``.

    Its arguments are built from a recipe learnt on the first call (``construct_params`` walks every
    bind of the statement each time): per position, the caller's value through the column type's
    processor, or a value the statement itself holds, processed once. The first call checks the recipe
    against ``construct_params``; a statement it does not reproduce keeps the general way.
    """

    __slots__ = ("_learn", "recipe", "sql_bytes")

    def __init__(self, compiled: Compiled) -> None:
        super().__init__(compiled)
        self.sql_bytes = self.sql.encode()
        self.recipe: list[tuple[str | None, Any]] | None = None
        self._learn = True

    def args(self, params: Mapping[str, Any]) -> Any:
        recipe = self.recipe
        if recipe is not None:
            return tuple(
                value if name is None else (value(params[name]) if value else params[name])
                for name, value in recipe
            )
        general = super().args(params)
        if self._learn:
            self._learn = False  # one try: races only redo it
            learnt = self._recipe(params)
            if learnt is not None and _same(self._replay(learnt, params), general):
                self.recipe = learnt
        return general

    def _recipe(self, params: Mapping[str, Any]) -> list[tuple[str | None, Any]] | None:
        compiled: Any = self.compiled
        if self.positional is None or compiled.escaped_bind_names:
            return None
        binds = compiled.binds
        recipe: list[tuple[str | None, Any]] = []
        for name in self.positional:
            bind = binds.get(name)
            process = self.processors.get(name)
            if name in params:
                recipe.append((name, process))
            elif bind is None or bind.callable is not None or bind.expanding or bind.required:
                return None
            else:
                recipe.append((None, process(bind.value) if process else bind.value))
        return recipe

    @staticmethod
    def _replay(recipe: list[tuple[str | None, Any]], params: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(
            value if name is None else (value(params[name]) if value else params[name])
            for name, value in recipe
        )


class Prepared:
    """One Core statement; ``run`` it with a mapping of parameters, or ``run_many`` with several."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, frozenset[str]], _Plan | None] = {}
        self._lean_plans: dict[frozenset[str], _LeanPlan | None] = {}

    def run(self, session: Session, params: Mapping[str, Any] | None = None) -> Any:
        """Execute in ``session``'s transaction; the DB-API cursor (``fetchone``, ``rowcount``)."""
        return self._execute(session, [params or {}], many=False)

    def run_many(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per row (all rows with the same keys)."""
        self._execute(session, rows, many=True)

    def _execute(self, session: Session, rows: Sequence[Mapping[str, Any]], *, many: bool) -> Any:
        connection = session.connection()
        raw: Any = connection.connection.dbapi_connection
        if _lean(raw):
            lean = self._lean_plan(connection.dialect, rows[0])
            if lean is not None:
                return self._run_lean(connection, raw, lean, rows, many=many)
        plan = self._plan(connection.dialect, rows[0])
        if plan is None:
            given = [dict(row) for row in rows] if many else dict(rows[0])
            return _Fallback(session.execute(self.statement, given))
        cursor = connection.connection.cursor()
        args = [plan.args(row) for row in rows]
        try:
            if many:
                cursor.executemany(plan.sql, args)
            else:
                with _first_in_transaction(connection):
                    cursor.execute(plan.sql, args[0])
        except connection.dialect.loaded_dbapi.Error as exc:
            # As SQLAlchemy's own path does: a dropped connection leaves the pool, and says so; the
            # server likely dropped its siblings too, so those opened before now are replaced at
            # their next checkout (there is no pre-ping to find them).
            lost = connection_lost(connection.dialect, exc, connection.connection)
            if lost:
                connection.engine.pool._invalidate(connection.connection, exc, _checkin=False)
                connection.invalidate(exc)
            raise _wrapped(plan.sql, args if many else args[0], exc, connection.dialect, lost=lost) from exc
        return cursor

    def _run_lean(
        self,
        connection: Any,
        raw: OneTripBegin,
        plan: _LeanPlan,
        rows: Sequence[Mapping[str, Any]],
        *,
        many: bool,
    ) -> Any:
        args = [plan.args(row) for row in rows]
        try:
            with raw.batch():
                results = [raw.run(plan.sql_bytes, arg) for arg in args]
        except connection.dialect.loaded_dbapi.Error as exc:
            # As below; a connection left in pipeline mode answers nothing else either.
            lost = connection_lost(connection.dialect, exc, raw) or bool(raw.pgconn.pipeline_status)
            if lost and not connection.invalidated:
                connection.engine.pool._invalidate(connection.connection, exc, _checkin=False)
                connection.invalidate(exc)
            raise _wrapped(plan.sql, args if many else args[0], exc, connection.dialect, lost=lost) from exc
        return results[0]

    def _lean_plan(self, dialect: Any, params: Mapping[str, Any]) -> _LeanPlan | None:
        key = frozenset(params)
        try:
            return self._lean_plans[key]
        except KeyError:
            pass
        plan = self._plan(dialect, params)  # None when the statement needs SQLAlchemy's context
        lean = None
        if plan is not None:
            compiled = self.statement.compile(dialect=_numbered(dialect), column_keys=list(params))  # type: ignore[attr-defined]
            lean = _LeanPlan(compiled)
        self._lean_plans[key] = lean  # races only redo this
        return lean

    def _plan(self, dialect: Any, params: Mapping[str, Any]) -> _Plan | None:
        key = (dialect.name, frozenset(params))
        try:
            return self._plans[key]
        except KeyError:
            pass
        compiled = self.statement.compile(dialect=dialect, column_keys=list(params))  # type: ignore[attr-defined]
        # Python-side defaults are computed by SQLAlchemy's execution context: leave those to it.
        needs_context = bool(
            getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None)
        )
        plan = self._plans[key] = None if needs_context else _Plan(compiled)  # races only redo this
        return plan


def _lean(raw: Any) -> bool:
    """Whether ``raw`` is a PostgreSQL connection that takes statements on the lean path now."""
    ready = getattr(raw, "lean_ready", None)
    return ready is not None and bool(ready())


def _same(ours: tuple[Any, ...], general: tuple[Any, ...]) -> bool:
    """Equal values of equal types; psycopg's JSON wrappers (no ``==`` of their own) by what they wrap."""
    if len(ours) != len(general):
        return False
    for mine, theirs in zip(ours, general, strict=True):
        if type(mine) is not type(theirs):
            return False
        if hasattr(mine, "obj") and hasattr(mine, "dumps"):  # psycopg's Json, Jsonb
            mine, theirs = (mine.obj, mine.dumps), (theirs.obj, theirs.dumps)
        if mine != theirs:
            return False
    return True


_NUMBERED: dict[type, Any] = {}


def _numbered(dialect: Any) -> Any:
    """The dialect with ``$n`` placeholders, which libpq takes as they are (psycopg converts ``%(x)s``
    to them on every execution)."""
    kind = type(dialect)
    numbered = _NUMBERED.get(kind)
    if numbered is None:
        numbered = _NUMBERED[kind] = kind(paramstyle="numeric_dollar")
        numbered.server_version_info = dialect.server_version_info
        numbered._json_serializer = dialect._json_serializer
    return numbered


def _first_in_transaction(connection: Any) -> AbstractContextManager[None]:
    """On PostgreSQL, a statement that opens its transaction sends the ``BEGIN`` along (``pgconn``)."""
    begin = getattr(connection.connection.dbapi_connection, "begin_with_next", None)
    return begin() if begin is not None else nullcontext()


@contextmanager
def pipelined(session: Session) -> Iterator[None]:
    """On PostgreSQL, send the statements run inside in one pipeline (psycopg's pipeline mode): each
    leaves as it is run, and waits for the server only when its result is read; the rest are read at
    the end of the block, so a run of writes whose results nobody reads costs one round trip, and the
    server works on them while this side prepares the next. Elsewhere a no-op."""
    connection = session.connection()
    raw: Any = connection.connection.dbapi_connection
    pipeline = getattr(raw, "pipeline", None)
    if connection.dialect.name != "postgresql" or pipeline is None:
        yield
        return
    # Statements on the lean path (``OneTripBegin.run``) go in a batch: libpq's pipeline without
    # psycopg's bookkeeping around each statement; each leaves as it is run (``eager``).
    block = functools.partial(raw.batch, eager=True) if _lean(raw) else pipeline
    try:
        with block():
            yield
    except connection.dialect.loaded_dbapi.Error as exc:
        # An error the server reports at the end of the block, as ``Prepared`` reports its own. A
        # connection the driver could not take out of pipeline mode answers nothing else: it goes too.
        lost = connection_lost(connection.dialect, exc, raw) or bool(raw.pgconn.pipeline_status)
        if lost and not connection.invalidated:  # a statement inside may have retired it already
            connection.engine.pool._invalidate(connection.connection, exc, _checkin=False)
            connection.invalidate(exc)
        raise _wrapped("(pipeline)", None, exc, connection.dialect, lost=lost) from exc


def commit_in_pipeline(session: Session) -> None:
    """Inside ``pipelined`` on PostgreSQL: queue the transaction's ``COMMIT`` behind the statements
    already queued, so it costs no round trip of its own. Only the session's commit may call this, as
    the last thing before it: the driver then finds no transaction open and sends nothing more."""
    connection = session.connection()
    raw: Any = connection.connection.dbapi_connection
    pgconn = getattr(raw, "pgconn", None)
    if connection.dialect.name != "postgresql" or pgconn is None or not pgconn.pipeline_status:
        return
    if connection.in_nested_transaction():  # a savepoint's release is not the transaction's end
        return
    if getattr(raw, "commit_in_batch", None) is not None and raw.commit_in_batch():
        return
    raw.execute("COMMIT")


def _wrapped(sql: str, args: Any, error: Exception, dialect: Any, *, lost: bool = False) -> Exception:
    """The driver's error as SQLAlchemy's (``IntegrityError`` …), as the full path raises it."""
    return DBAPIError.instance(
        sql, args, error, dialect.loaded_dbapi.Error, dialect=dialect, connection_invalidated=lost
    )


class _Fallback:
    """The cursor-like face of a result from the full execution path."""

    def __init__(self, result: Any) -> None:
        self._result = result
        self.rowcount = result.rowcount

    def fetchone(self) -> Any:
        return self._result.fetchone()
