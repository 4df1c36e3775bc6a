"""The test databases' PostgreSQL schemas, emptied and renamed for a later test instead of dropped
(tests/fixtures/database.py): a later test must find exactly what a fresh schema holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from spell.storage.engine import make_engine
from tests.fixtures.database import DatabaseTemplates, require_postgres

SEQUENCES = "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()"


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseTemplates]:
    """Templates of this module's own (its free schemas are not the session's), kept from test to test
    as the session's are."""
    require_postgres()
    made = DatabaseTemplates(tmp_path_factory.mktemp("reuse"))
    yield made
    made.close()


def _engine(url: str) -> Engine:
    return make_engine(url)


def _schema(url: str) -> str:
    return url.split("-csearch_path%3D", 1)[1].split("%20", 1)[0]


def test_a_released_schema_comes_back_empty_under_a_new_name_with_its_sequences_at_the_start(
    templates: DatabaseTemplates, tmp_path: Path
) -> None:
    first = templates.full("postgresql", tmp_path)
    free = len(templates.free)
    engine = _engine(first)
    with engine.begin() as conn:
        fresh = conn.execute(text(SEQUENCES)).all()
        conn.execute(text("SELECT nextval('audit_records_seq_seq')"))
        conn.execute(text("SELECT setval('budget_usage_id_seq', 40)"))
    engine.dispose()
    templates.release(first)
    assert len(templates.free) == free + 1

    second = templates.full("postgresql", tmp_path)
    assert _schema(second) != _schema(first)
    assert len(templates.free) == free
    engine = _engine(second)
    with engine.begin() as conn:
        assert conn.execute(text(SEQUENCES)).all() == fresh
        assert conn.execute(text("SELECT nextval('audit_records_seq_seq')")).scalar_one() == 1
        tables = conn.execute(
            text("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()")
        ).scalar_one()
        assert tables > 10
    engine.dispose()
    # The old name is gone: a process left connected to it would find no tables.
    engine = _engine(first)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT to_regclass('audit_records')")).scalar_one() is None
    engine.dispose()
    templates.release(second)


def test_rows_of_every_table_are_gone(templates: DatabaseTemplates, tmp_path: Path) -> None:
    first = templates.full("postgresql", tmp_path)
    engine = _engine(first)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO tenants (id, name, created_at) VALUES ('ten_1', 'one', now())"))
    engine.dispose()
    templates.release(first)
    second = templates.full("postgresql", tmp_path)
    engine = _engine(second)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM tenants")).scalar_one() == 0
    engine.dispose()
    templates.release(second)


@pytest.mark.parametrize(
    "change",
    [
        "CREATE TABLE extra (id int)",
        "DROP TABLE tenants CASCADE",
        "ALTER TABLE tenants ADD COLUMN extra int",
        "CREATE INDEX ix_extra ON tenants (name)",
        "ALTER TABLE tenants DISABLE TRIGGER ALL",
        "CREATE FUNCTION extra() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    ],
)
def test_a_schema_whose_shape_a_test_changed_is_dropped(
    templates: DatabaseTemplates, tmp_path: Path, change: str
) -> None:
    first = templates.full("postgresql", tmp_path)
    free = list(templates.free)
    engine = _engine(first)
    with engine.begin() as conn:
        conn.execute(text(change))
    engine.dispose()
    templates.release(first)
    assert templates.free == free
    assert _schema(first) not in templates.schemas
    with templates.admin.begin() as conn:
        assert conn.execute(text("SELECT to_regnamespace(:s)"), {"s": _schema(first)}).scalar_one() is None


def test_a_schema_a_connection_still_locks_is_dropped_not_waited_on(
    templates: DatabaseTemplates, tmp_path: Path
) -> None:
    first = templates.full("postgresql", tmp_path)
    free = len(templates.free)
    engine = _engine(first)
    holder = engine.connect()
    holder.execute(text("LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE"))
    assert templates._emptied(_schema(first)) is None
    holder.rollback()
    holder.close()
    engine.dispose()
    templates.release(first)
    assert len(templates.free) == free + 1


def test_commits_do_not_wait_for_the_disk_and_the_schema_is_the_tests(
    templates: DatabaseTemplates, tmp_path: Path
) -> None:
    url = templates.full("postgresql", tmp_path)
    engine = _engine(url)
    with engine.begin() as conn:
        assert conn.execute(text("SHOW synchronous_commit")).scalar_one() == "off"
        assert conn.execute(text("SELECT current_schema()")).scalar_one() == _schema(url)
    engine.dispose()
    templates.release(url)


def test_an_empty_schema_is_never_reused(templates: DatabaseTemplates, tmp_path: Path) -> None:
    free, schemas = list(templates.free), list(templates.schemas)
    url = templates.empty("postgresql", tmp_path)
    templates.release(url)
    assert templates.free == free
    assert templates.schemas == schemas
