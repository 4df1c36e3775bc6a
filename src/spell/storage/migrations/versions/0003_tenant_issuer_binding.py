"""tenant issuer binding

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issuer", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("org", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_tenants_issuer_org"), ["issuer", "org"])


def downgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_tenants_issuer_org"), type_="unique")
        batch_op.drop_column("org")
        batch_op.drop_column("issuer")
