"""spell cast counts: pending casts per shard, folded into spells.cast_count by the sweep

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spell_cast_counts",
        sa.Column("spell_id", sa.String(length=200), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("spell_id", "shard", name=op.f("pk_spell_cast_counts")),
    )


def downgrade() -> None:
    # Counts still pending go into the spells' rows first, or the downgrade would lose them.
    op.execute(
        "UPDATE spells SET cast_count = cast_count + "
        "(SELECT SUM(n) FROM spell_cast_counts WHERE spell_cast_counts.spell_id = spells.id) "
        "WHERE id IN (SELECT spell_id FROM spell_cast_counts)"
    )
    op.drop_table("spell_cast_counts")
