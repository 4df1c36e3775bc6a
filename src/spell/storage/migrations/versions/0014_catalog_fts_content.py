"""catalog search: SQLite stores each spell's words beside an FTS5 index of them; PostgreSQL indexes
the starts of words as lexemes; each listing order's index holds its tie-break

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from spell.models.spell_search import (
    LEGACY_POSTGRES_DDL,
    LEGACY_POSTGRES_DROP,
    LEGACY_SQLITE_DDL,
    LEGACY_SQLITE_DROP,
    POSTGRES_DDL,
    POSTGRES_DROP,
    POSTGRES_GIN_DIRECT,
    SQLITE_DDL,
    SQLITE_DROP,
)

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


# each order's index, in its direction (every order breaks ties by id ascending)
_ORDERS = {"updated_at": "updated_at DESC", "cast_count": "cast_count DESC", "price_amount": "price_amount"}


def _order_indexes(with_ties: bool) -> None:
    for column, key in _ORDERS.items():
        op.drop_index(f"ix_spells_{column}", table_name="spells")
        columns: list[str | sa.TextClause] = [sa.text(key), "id"] if with_ties else [column]
        op.create_index(f"ix_spells_{column}", "spells", columns)


def upgrade() -> None:
    # rebuilt from the spells themselves: the SQLite words through the function the engine registers
    # on every connection, the PostgreSQL lexemes by the generated column (one rewrite of the table)
    statements: tuple[str, ...]
    if op.get_bind().dialect.name == "sqlite":
        statements = LEGACY_SQLITE_DROP + SQLITE_DDL
    else:
        statements = LEGACY_POSTGRES_DROP + POSTGRES_DDL + POSTGRES_GIN_DIRECT
    for statement in statements:
        op.execute(statement)
    _order_indexes(with_ties=True)


def downgrade() -> None:
    _order_indexes(with_ties=False)
    statements: tuple[str, ...]
    if op.get_bind().dialect.name == "sqlite":
        statements = SQLITE_DROP + LEGACY_SQLITE_DDL
    else:
        statements = POSTGRES_DROP + LEGACY_POSTGRES_DDL + POSTGRES_GIN_DIRECT
    for statement in statements:
        op.execute(statement)
