"""catalog search: the PostgreSQL full-text index is updated on each write, without a pending list

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

from spell.models.spell_search import POSTGRES_GIN_DIRECT

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in POSTGRES_GIN_DIRECT:
        op.execute(statement)
    # entries already waiting in the pending list move into the index now, not at the next vacuum
    op.execute("SELECT gin_clean_pending_list('ix_spells_search_vector')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX ix_spells_search_vector RESET (fastupdate)")
