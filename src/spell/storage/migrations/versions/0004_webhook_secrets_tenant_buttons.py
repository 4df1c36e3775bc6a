"""webhook secrets per tenant; buttons identified by (tenant, id)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import spell.models.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_secrets",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("previous_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", spell.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", spell.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_webhook_secrets_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_webhook_secrets")),
    )
    # Existing button ids were unique across tenants, so every row keeps its identity. The key leads
    # with the tenant, which makes the separate tenant index redundant.
    with op.batch_alter_table("buttons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_buttons_tenant_id"))
        batch_op.drop_constraint("pk_buttons", type_="primary")
        batch_op.create_primary_key("pk_buttons", ["tenant_id", "id"])


def downgrade() -> None:
    # Going back needs globally unique ids again: fails if two tenants now share one.
    with op.batch_alter_table("buttons", schema=None) as batch_op:
        batch_op.drop_constraint("pk_buttons", type_="primary")
        batch_op.create_primary_key("pk_buttons", ["id"])
        batch_op.create_index(batch_op.f("ix_buttons_tenant_id"), ["tenant_id"], unique=False)
    op.drop_table("webhook_secrets")
