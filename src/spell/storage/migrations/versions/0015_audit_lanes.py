"""audit lanes: several independent hash chains, so concurrent appends do not queue on one head row

The existing chain becomes lane 0 unchanged: its head row is renamed lane 0, every record keeps its
``seq`` and gets ``lane_seq = seq`` (the number its hash covers), and checkpoints belong to lane 0. On
PostgreSQL ``seq`` now comes from the column's own sequence, moved past the records already there.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch_op.add_column(sa.Column("lane_seq", sa.BigInteger(), nullable=True))
    op.execute("UPDATE audit_records SET lane_seq = seq")
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.alter_column("lane_seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index("ix_audit_records_lane_lane_seq", ["lane", "lane_seq"], unique=True)
    op.execute("ALTER TABLE audit_head RENAME COLUMN id TO lane")  # both databases know the statement
    op.execute("UPDATE audit_head SET lane = 0 WHERE lane = 1")
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch_op.drop_constraint("pk_audit_checkpoints", type_="primary")
        batch_op.create_primary_key("pk_audit_checkpoints", ["lane", "number"])
    if postgres:
        # Appends leave ``seq`` to the sequence from now on: it must start after the records there.
        op.execute(
            "SELECT setval(pg_get_serial_sequence('audit_records', 'seq'), "
            "COALESCE((SELECT MAX(seq) FROM audit_records), 0) + 1, false)"
        )


def downgrade() -> None:
    # Only a log that never left lane 0 goes back to one chain; other lanes would not verify as one.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM audit_records WHERE lane <> 0 LIMIT 1")).first() is not None:
        raise RuntimeError("audit records in lanes other than 0 cannot be downgraded to a single chain")
    if bind.execute(sa.text("SELECT 1 FROM audit_records WHERE lane_seq <> seq LIMIT 1")).first() is not None:
        raise RuntimeError("audit records whose seq is not their lane_seq cannot be downgraded")
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_constraint("pk_audit_checkpoints", type_="primary")
        batch_op.create_primary_key("pk_audit_checkpoints", ["number"])
        batch_op.drop_column("lane")
    op.execute("UPDATE audit_head SET lane = 1 WHERE lane = 0")
    op.execute("DELETE FROM audit_head WHERE lane <> 1")
    op.execute("ALTER TABLE audit_head RENAME COLUMN lane TO id")
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_records_lane_lane_seq")
        batch_op.drop_column("lane_seq")
        batch_op.drop_column("lane")
