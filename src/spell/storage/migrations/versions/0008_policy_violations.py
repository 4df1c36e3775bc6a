"""policy violations: refusals charged to a spell or a user, counted towards suspension

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import spell.models.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_AT = spell.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "policy_violations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("subject_type", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("cast_id", sa.String(length=40), nullable=True),
        sa.Column("spell_version", sa.String(length=50), nullable=True),
        sa.Column("details", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("cleared_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_violations")),
    )
    op.create_index(
        "ix_policy_violations_subject",
        "policy_violations",
        ["subject_type", "subject_id", "created_at"],
        unique=False,
    )
    op.create_index(op.f("ix_policy_violations_kind"), "policy_violations", ["kind"], unique=False)
    op.create_index(op.f("ix_policy_violations_tenant_id"), "policy_violations", ["tenant_id"], unique=False)
    op.create_index(
        op.f("ix_policy_violations_created_at"), "policy_violations", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_policy_violations_created_at"), table_name="policy_violations")
    op.drop_index(op.f("ix_policy_violations_tenant_id"), table_name="policy_violations")
    op.drop_index(op.f("ix_policy_violations_kind"), table_name="policy_violations")
    op.drop_index("ix_policy_violations_subject", table_name="policy_violations")
    op.drop_table("policy_violations")
