"""privacy: processing preferences, transfer consents, erasures; personal audit text outside the hash

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import spell.models.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_AT = spell.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "privacy_preferences",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("is_processing_restricted", sa.Boolean(), nullable=False),
        sa.Column("restricted_at", _AT, nullable=True),
        sa.Column("is_do_not_sell", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_privacy_preferences_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_privacy_preferences")),
    )
    op.create_table(
        "privacy_transfer_consents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("granted_at", _AT, nullable=False),
        sa.Column("withdrawn_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_privacy_transfer_consents_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_transfer_consents")),
    )
    op.create_index(
        "ix_privacy_transfer_consents_user_id_region",
        "privacy_transfer_consents",
        ["user_id", "region"],
        unique=False,
    )
    op.create_table(
        "privacy_erasures",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("requested_by", sa.String(length=40), nullable=True),
        sa.Column("requested_at", _AT, nullable=False),
        sa.Column("anonymised_at", _AT, nullable=False),
        sa.Column("purge_after", _AT, nullable=False),
        sa.Column("purged_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_privacy_erasures_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_privacy_erasures")),
    )
    op.create_index(
        op.f("ix_privacy_erasures_purge_after"), "privacy_erasures", ["purge_after"], unique=False
    )
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("personal", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.drop_column("personal")
    op.drop_index(op.f("ix_privacy_erasures_purge_after"), table_name="privacy_erasures")
    op.drop_table("privacy_erasures")
    op.drop_index("ix_privacy_transfer_consents_user_id_region", table_name="privacy_transfer_consents")
    op.drop_table("privacy_transfer_consents")
    op.drop_table("privacy_preferences")
