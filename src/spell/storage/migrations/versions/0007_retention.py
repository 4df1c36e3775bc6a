"""retention: legal holds, pruned-data marks, audit checkpoints, retention runs

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import spell.models.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_AT = spell.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    for table in ("users", "tenants"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("legal_hold", sa.Boolean(), server_default=sa.false(), nullable=False)
            )
            batch_op.add_column(sa.Column("legal_hold_reason", sa.String(length=500), nullable=True))
    with op.batch_alter_table("casts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("input_reduced_at", _AT, nullable=True))
        batch_op.add_column(sa.Column("output_pruned_at", _AT, nullable=True))
        batch_op.add_column(sa.Column("logs_pruned_at", _AT, nullable=True))
        batch_op.create_index(batch_op.f("ix_casts_finished_at"), ["finished_at"], unique=False)
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", _AT, nullable=True))
        batch_op.create_index(batch_op.f("ix_artifacts_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "audit_checkpoints",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=80), nullable=False),
        sa.Column("folded", sa.BigInteger(), nullable=False),
        sa.Column("kept", sa.BigInteger(), nullable=False),
        sa.Column("kept_digest", sa.String(length=80), nullable=False),
        sa.Column("first_at", _AT, nullable=True),
        sa.Column("last_at", _AT, nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("key_id", sa.String(length=100), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("started_at", _AT, nullable=False),
        sa.Column("finished_at", _AT, nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("report", sa.JSON(none_as_null=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
    )
    with op.batch_alter_table("retention_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retention_runs_started_at"), ["started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("retention_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_runs_started_at"))
    op.drop_table("retention_runs")
    op.drop_table("audit_checkpoints")
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifacts_expires_at"))
        batch_op.drop_column("deleted_at")
    with op.batch_alter_table("casts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_casts_finished_at"))
        batch_op.drop_column("logs_pruned_at")
        batch_op.drop_column("output_pruned_at")
        batch_op.drop_column("input_reduced_at")
    for table in ("tenants", "users"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("legal_hold_reason")
            batch_op.drop_column("legal_hold")
