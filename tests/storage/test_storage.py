"""Migrations, SQLite pragmas, explicit transactions and after-commit hooks."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, StatementError

from spell.kit.time import utcnow
from spell.models import Base, Tenant, is_search_object
from spell.storage.engine import make_engine
from spell.storage.migrate import upgrade
from spell.storage.session import Database


def test_migrations_build_exactly_the_models_schema(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)  # a second run is a no-op
    engine = make_engine(empty_database_url)
    with engine.connect() as conn:
        # the full-text index lives outside the ORM (spell.models.spell_search), built by both paths
        opts = {"include_name": lambda name, type_, _parent: not is_search_object(name, type_)}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x' / 'db.sqlite'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    engine.dispose()


def test_an_unknown_sqlite_begin_mode_is_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}").execution_options(
        sqlite_begin="EXCLUSIVE;DROP"
    )
    with pytest.raises(ValueError, match="begin mode"), engine.begin():
        pass
    engine.dispose()


def test_a_sqlite_begin_that_fails_raises_sqlalchemys_error(tmp_path: Path) -> None:
    """BEGIN goes to the driver directly; its failure is still SQLAlchemy's ``OperationalError``."""
    path = tmp_path / "db.sqlite"
    engine = make_engine(f"sqlite:///{path}").execution_options(sqlite_begin="IMMEDIATE")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        with engine.connect() as conn:
            conn.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
            holder.execute("BEGIN IMMEDIATE")  # the write lock, held elsewhere
            with pytest.raises(OperationalError, match="database is locked") as caught, conn.begin():
                pass
        assert "BEGIN IMMEDIATE" in str(caught.value)
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()


def test_after_commit_callbacks_run_only_when_the_transaction_commits(database: Database) -> None:
    ran: list[str] = []
    with database.unit_of_work() as uow:
        uow.session.add(Tenant(id="ten_1", name="one", created_at=utcnow()))
        uow.after_commit(lambda: ran.append("committed"))

    def failing() -> None:
        with database.unit_of_work() as uow:
            uow.session.add(Tenant(id="ten_2", name="two", created_at=utcnow()))
            uow.after_commit(lambda: ran.append("rolled back"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing()
    assert ran == ["committed"]
    with database.unit_of_work(write=False) as uow:
        assert uow.session.get(Tenant, "ten_2") is None
        tenant = uow.session.get(Tenant, "ten_1")
        assert tenant is not None
        assert tenant.created_at.tzinfo is not None


def test_naive_datetimes_are_refused(database: Database) -> None:
    from datetime import datetime

    def store_naive() -> None:
        with database.unit_of_work() as uow:
            uow.session.add(Tenant(id="ten_3", name="three", created_at=datetime(2026, 1, 1)))  # noqa: DTZ001
            uow.session.flush()

    with pytest.raises(StatementError, match="naive"):
        store_naive()


def test_datetimes_read_back_as_the_same_aware_utc_instant(database: Database) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    stored = {
        "ten_utc": datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC),
        "ten_whole_second": datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC),
        # another zone is stored as its UTC instant
        "ten_offset": datetime(2026, 3, 1, 14, 30, 5, 7, tzinfo=timezone(timedelta(hours=2))),
    }
    with database.unit_of_work() as uow:
        uow.session.add_all([Tenant(id=key, name=key, created_at=when) for key, when in stored.items()])
    with database.unit_of_work(write=False) as uow:
        for key, when in stored.items():
            tenant = uow.session.get(Tenant, key)
            assert tenant is not None
            assert tenant.created_at == when
            assert tenant.created_at.tzinfo is UTC


def test_sqlite_text_datetimes_are_parsed_as_utc(tmp_path: Path) -> None:
    # rows written outside the ORM: SQLAlchemy's text form, a 'T' separator, an explicit offset
    from datetime import UTC, datetime

    database = Database(make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    Base.metadata.create_all(database.engine)
    written = {
        "ten_text": ("2026-03-01 12:30:05.000042", datetime(2026, 3, 1, 12, 30, 5, 42, tzinfo=UTC)),
        "ten_iso": ("2026-03-01T12:30:05", datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)),
        "ten_zone": ("2026-03-01 14:30:05+02:00", datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)),
    }
    insert = text("INSERT INTO tenants (id, name, created_at) VALUES (:id, :id, :at)")
    with database.engine.begin() as conn:
        for key, (raw, _) in written.items():
            conn.execute(insert, {"id": key, "at": raw})
    with database.unit_of_work(write=False) as uow:
        for key, (_, when) in written.items():
            tenant = uow.session.get(Tenant, key)
            assert tenant is not None
            assert tenant.created_at == when
            assert tenant.created_at.tzinfo is UTC
    database.dispose()


def test_a_database_behind_the_newest_revision_is_refused_until_upgraded(empty_database_url: str) -> None:
    from spell.errors import InvalidInput
    from spell.storage.migrate import require_current

    with pytest.raises(InvalidInput) as refused:
        require_current(empty_database_url)
    assert refused.value.details["current"] is None
    upgrade(empty_database_url)
    require_current(empty_database_url)


def _write_from_another_thread(database: Database) -> threading.Event:
    """Start a write unit of work on another thread; the event is set once it committed."""
    committed = threading.Event()

    def write() -> None:
        with database.unit_of_work():
            pass
        committed.set()

    threading.Thread(target=write, daemon=True).start()
    return committed


def test_sqlite_writers_of_one_process_queue_until_the_writer_before_commits(database: Database) -> None:
    with database.unit_of_work(write=False):  # readers never hold writers up
        assert _write_from_another_thread(database).wait(10)
    with database.unit_of_work():
        waiting = _write_from_another_thread(database)
        if database.engine.dialect.name == "sqlite":
            assert not waiting.wait(0.2)  # bounded: its turn comes only with this commit
        else:
            assert waiting.wait(10)  # PostgreSQL writers run concurrently; row locks order them
    assert waiting.wait(10)
    written_in_callback: list[bool] = []
    with database.unit_of_work() as uow:
        # The callback waits for another writer: it would wait in vain if the lock were still held.
        uow.after_commit(lambda: written_in_callback.append(_write_from_another_thread(database).wait(10)))
    assert written_in_callback == [True]
