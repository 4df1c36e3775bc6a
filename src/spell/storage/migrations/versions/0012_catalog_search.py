"""catalog search: an index per listing order, one on delisted versions, and the full-text index

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from spell.models.spell_search import (
    LEGACY_POSTGRES_DDL,
    LEGACY_POSTGRES_DROP,
    LEGACY_SQLITE_DDL,
    LEGACY_SQLITE_DROP,
)

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ORDERS = ("updated_at", "cast_count", "price_amount")


def _statements(sqlite: tuple[str, ...], postgres: tuple[str, ...]) -> tuple[str, ...]:
    return sqlite if op.get_bind().dialect.name == "sqlite" else postgres


def upgrade() -> None:
    for column in _ORDERS:
        op.create_index(f"ix_spells_{column}", "spells", [column])
    delisted = sa.text("delisted_at IS NOT NULL")
    op.create_index(
        "ix_spell_versions_delisted",
        "spell_versions",
        ["spell_id", "version"],
        sqlite_where=delisted,
        postgresql_where=delisted,
    )
    for statement in _statements(LEGACY_SQLITE_DDL, LEGACY_POSTGRES_DDL):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(LEGACY_SQLITE_DROP, LEGACY_POSTGRES_DROP):
        op.execute(statement)
    op.drop_index("ix_spell_versions_delisted", table_name="spell_versions")
    for column in _ORDERS:
        op.drop_index(f"ix_spells_{column}", table_name="spells")
