"""The money tables come from the one Alembic tree, on SQLite and PostgreSQL, and go away on downgrade."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from spell.models.audit import AuditHead, AuditRecord
from spell.models.budget import Budget, BudgetUsage, Hold
from spell.models.ledger import LedgerAccount, LedgerPosting, LedgerTransaction
from spell.models.payment import PaymentCustomer, PaymentRecord, RevenueShare, WebhookEvent
from spell.storage.engine import make_engine
from spell.storage.migrate import alembic_config, upgrade

MONEY = {
    model.__tablename__
    for model in (
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
}


def test_upgrade_creates_and_downgrade_drops_the_money_tables(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade(url)
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) >= MONEY
        command.downgrade(alembic_config(url), "0001")
        assert not MONEY & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
