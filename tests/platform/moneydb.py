"""Databases for the money tests: a fresh SQLite file, or a fresh PostgreSQL database, per test.

Money paths commit for real (races are only real across transactions), so each test gets its own
database instead of a rolled-back transaction.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Table, text

from spell.kit.ids import new_id
from spell.models.audit import AuditHead, AuditRecord
from spell.models.base import Base
from spell.models.budget import Budget, BudgetUsage, Hold
from spell.models.ledger import LedgerAccount, LedgerPosting, LedgerTransaction
from spell.models.payment import PaymentCustomer, PaymentRecord, RevenueShare, WebhookEvent
from spell.models.publisher_key import Publisher
from spell.models.spell import Spell
from spell.models.tenant import Tenant
from spell.models.user import User
from spell.storage.engine import make_engine
from spell.storage.session import Database
from tests.server_fixtures import PG_ADMIN_URL, _require_postgres

__all__ = ["MONEY_TABLES", "PG_ADMIN_URL", "database", "pg_database_url"]

MONEY_MODELS = (
    LedgerAccount,
    LedgerTransaction,
    LedgerPosting,
    Budget,
    BudgetUsage,
    Hold,
    AuditRecord,
    AuditHead,
    PaymentCustomer,
    PaymentRecord,
    WebhookEvent,
    RevenueShare,
)
MONEY_TABLES = [Base.metadata.tables[m.__tablename__] for m in MONEY_MODELS]
# Who pays and what is sold: users (their email goes to the card processor) and grimoire spells.
_CONTEXT_TABLES = [Base.metadata.tables[m.__tablename__] for m in (Tenant, User, Publisher, Spell)]


def _create(url: str) -> Database:
    db = Database(make_engine(url))
    tables: list[Table] = [*_CONTEXT_TABLES, *MONEY_TABLES]
    Base.metadata.create_all(db.engine, tables=tables)
    return db


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards (skipped without a server, as the server tests are)."""
    _require_postgres()
    name = new_id("money").lower()
    admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The money tables on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('money') / 'money.db'}"
        db = _create(url)
        yield db
        db.dispose()
        return
    url = request.getfixturevalue("pg_database_url")
    db = _create(url)
    yield db
    db.dispose()
