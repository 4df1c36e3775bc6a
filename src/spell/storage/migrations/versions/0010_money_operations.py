"""money operations: top-up idempotency keys, refunds, one_time entitlements, maker payouts

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import spell.models.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entitlements",
        sa.Column("caster_id", sa.String(length=40), nullable=False),
        sa.Column("spell_id", sa.String(length=200), nullable=False),
        sa.Column("cast_id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price_micros", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=True),
        sa.Column("bought_at", spell.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", spell.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("caster_id", "spell_id", name=op.f("pk_entitlements")),
    )
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entitlements_cast_id"), ["cast_id"], unique=False)

    op.create_table(
        "payouts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("maker_id", sa.String(length=40), nullable=False),
        sa.Column("publisher", sa.String(length=100), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("paid_before_micros", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("destination", sa.String(length=100), nullable=True),
        sa.Column("provider_ref", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", spell.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint(
            "maker_id",
            "currency",
            "paid_before_micros",
            name=op.f("uq_payouts_maker_id_currency_paid_before_micros"),
        ),
    )
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payouts_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_payouts_maker_id"), ["maker_id"], unique=False)

    op.create_table(
        "refunds",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("request_digest", sa.String(length=80), nullable=False),
        sa.Column("target_kind", sa.String(length=10), nullable=False),
        sa.Column("target_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("maker_micros", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider_ref", sa.String(length=100), nullable=True),
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", spell.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_refunds_idempotency_key")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_refunds_target_id"), ["target_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refunds_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("payment_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("request_digest", sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_payment_records_user_id_idempotency_key"), ["user_id", "idempotency_key"]
        )

    with op.batch_alter_table("publishers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stripe_account_id", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("publishers", schema=None) as batch_op:
        batch_op.drop_column("stripe_account_id")

    with op.batch_alter_table("payment_records", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_payment_records_user_id_idempotency_key"), type_="unique")
        batch_op.drop_column("request_digest")
        batch_op.drop_column("idempotency_key")

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_user_id"))
        batch_op.drop_index(batch_op.f("ix_refunds_target_id"))
        batch_op.drop_index(batch_op.f("ix_refunds_created_at"))

    op.drop_table("refunds")
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payouts_maker_id"))
        batch_op.drop_index(batch_op.f("ix_payouts_created_at"))

    op.drop_table("payouts")
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entitlements_cast_id"))

    op.drop_table("entitlements")
