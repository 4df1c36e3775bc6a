"""PostgreSQL: a transaction's BEGIN travels with its first prepared statement, in one round trip, and
the transaction is the same one as without (its statements together, rolled back together, errors
raised as before)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from spell.errors import DatabaseUnavailable
from spell.kit.time import utcnow
from spell.models import Tenant
from spell.storage.prepared import Prepared
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
    import psycopg

    def lose_the_connection() -> None:
        with pg_database.unit_of_work() as uow:
            raw: Any = uow.session.connection().connection.dbapi_connection
            with psycopg.connect(
                PG_ADMIN_URL.replace("+psycopg", ""), autocommit=True
            ) as admin:  # no round trip of ours before
                admin.execute("SELECT pg_terminate_backend(%s)", (raw.info.backend_pid,))
            _XID.run(uow.session)  # BEGIN and the statement, on a connection the server ended

    for _ in range(2):  # the second takes a fresh connection, or another old one the server kept
        with pytest.raises(DatabaseUnavailable):
            lose_the_connection()
    with pg_database.unit_of_work() as uow:
        assert _XID.run(uow.session).fetchone()[0]
