"""The money tables come from the one Alembic tree, on SQLite and PostgreSQL, and go away on downgrade."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from spell.storage.engine import make_engine
from spell.storage.migrate import alembic_config, upgrade
from tests.platform.moneydb import MONEY_TABLES

MONEY = {table.name for table in MONEY_TABLES}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_creates_and_downgrade_drops_the_money_tables(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path}/m.db" if backend == "sqlite" else request.getfixturevalue("pg_database_url")
    upgrade(url)
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) >= MONEY
        command.downgrade(alembic_config(url), "0001")
        assert not MONEY & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
