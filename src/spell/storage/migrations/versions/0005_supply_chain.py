"""supply chain: advisories, version SBOMs, findings, notices, Sigstore identities

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import spell.models.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_AT = spell.models.base.UTCDateTime(timezone=True)


def _json() -> sa.JSON:
    return sa.JSON(none_as_null=True)


def upgrade() -> None:
    op.create_table(
        "advisories",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("aliases", _json(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("vector", sa.String(length=200), nullable=True),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("affected", _json(), nullable=False),
        sa.Column("published_at", _AT, nullable=True),
        sa.Column("modified_at", _AT, nullable=True),
        sa.Column("withdrawn_at", _AT, nullable=True),
        sa.Column("imported_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisories")),
    )
    op.create_table(
        "advisory_packages",
        sa.Column("advisory_id", sa.String(length=100), nullable=False),
        sa.Column("ecosystem", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["advisory_id"], ["advisories.id"], name=op.f("fk_advisory_packages_advisory_id_advisories")
        ),
        sa.PrimaryKeyConstraint("advisory_id", "ecosystem", "name", name=op.f("pk_advisory_packages")),
    )
    op.create_index(
        "ix_advisory_packages_ecosystem_name", "advisory_packages", ["ecosystem", "name"], unique=False
    )
    op.create_table(
        "spell_version_sboms",
        sa.Column("version_id", sa.String(length=40), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("spec_version", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=40), nullable=False),
        sa.Column("document", _json(), nullable=False),
        sa.Column("components", _json(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["spell_versions.id"],
            name=op.f("fk_spell_version_sboms_version_id_spell_versions"),
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_spell_version_sboms")),
    )
    op.create_table(
        "supply_findings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("version_id", sa.String(length=40), nullable=False),
        sa.Column("advisory_id", sa.String(length=100), nullable=False),
        sa.Column("component", sa.String(length=500), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("blocking", sa.Boolean(), nullable=False),
        sa.Column("found_at", _AT, nullable=False),
        sa.Column("resolved_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"], ["spell_versions.id"], name=op.f("fk_supply_findings_version_id_spell_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_findings")),
        sa.UniqueConstraint(
            "version_id",
            "advisory_id",
            "component",
            name=op.f("uq_supply_findings_version_id_advisory_id_component"),
        ),
    )
    op.create_index(op.f("ix_supply_findings_version_id"), "supply_findings", ["version_id"], unique=False)
    op.create_table(
        "supply_notices",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("publisher", sa.String(length=100), nullable=False),
        sa.Column("spell_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("details", _json(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["publisher"], ["publishers.name"], name=op.f("fk_supply_notices_publisher_publishers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_notices")),
    )
    op.create_index(op.f("ix_supply_notices_publisher"), "supply_notices", ["publisher"], unique=False)
    op.create_table(
        "publisher_sigstore_identities",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("publisher", sa.String(length=100), nullable=False),
        sa.Column("identity", sa.String(length=500), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("revoked_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(
            ["publisher"],
            ["publishers.name"],
            name=op.f("fk_publisher_sigstore_identities_publisher_publishers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publisher_sigstore_identities")),
        sa.UniqueConstraint(
            "publisher",
            "identity",
            "issuer",
            name=op.f("uq_publisher_sigstore_identities_publisher_identity_issuer"),
        ),
    )
    op.create_index(
        op.f("ix_publisher_sigstore_identities_publisher"),
        "publisher_sigstore_identities",
        ["publisher"],
        unique=False,
    )
    with op.batch_alter_table("spell_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sigstore_identity", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("flagged_at", _AT, nullable=True))
        batch_op.add_column(sa.Column("delist_at", _AT, nullable=True))
        batch_op.add_column(sa.Column("delisted_at", _AT, nullable=True))
    with op.batch_alter_table("publishers", schema=None) as batch_op:
        # existing publishers start without a Sigstore requirement
        batch_op.add_column(
            sa.Column("sigstore_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("webhook_url", sa.String(length=2000), nullable=True))
    with op.batch_alter_table("publishers", schema=None) as batch_op:
        batch_op.alter_column("sigstore_required", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("publishers", schema=None) as batch_op:
        batch_op.drop_column("webhook_url")
        batch_op.drop_column("sigstore_required")
    with op.batch_alter_table("spell_versions", schema=None) as batch_op:
        batch_op.drop_column("delisted_at")
        batch_op.drop_column("delist_at")
        batch_op.drop_column("flagged_at")
        batch_op.drop_column("sigstore_identity")
    op.drop_index(
        op.f("ix_publisher_sigstore_identities_publisher"), table_name="publisher_sigstore_identities"
    )
    op.drop_table("publisher_sigstore_identities")
    op.drop_index(op.f("ix_supply_notices_publisher"), table_name="supply_notices")
    op.drop_table("supply_notices")
    op.drop_index(op.f("ix_supply_findings_version_id"), table_name="supply_findings")
    op.drop_table("supply_findings")
    op.drop_table("spell_version_sboms")
    op.drop_index("ix_advisory_packages_ecosystem_name", table_name="advisory_packages")
    op.drop_table("advisory_packages")
    op.drop_table("advisories")
