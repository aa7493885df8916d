"""referrers, components and indexed_runs: discover by digest, search components

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 09:00:00

The index starts empty; the worker's discover job fills it from every pushed attestation
(the oldest first), then keeps up with new pushes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def _run_fks(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f(f"fk_{table}_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["workflow_runs.id"],
            name=op.f(f"fk_{table}_run_id_workflow_runs"),
            ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "referrers",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("digest", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=True),
        sa.Column("repository", sa.Text(), nullable=True),
        sa.Column("tag", sa.String(length=200), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        *_run_fks("referrers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrers")),
        sa.UniqueConstraint(
            "run_id", "role", "name", "digest", name=op.f("uq_referrers_run_id_role_name_digest")
        ),
    )
    op.create_index("ix_referrers_org_id_digest", "referrers", ["org_id", "digest"])
    op.create_table(
        "components",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("workflow_id", sa.String(length=36), nullable=False),
        sa.Column("run_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sbom_digest", sa.String(length=200), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("purl", sa.Text(), nullable=True),
        sa.Column("package", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.String(length=200), nullable=True),
        sa.Column("type", sa.String(length=50), nullable=True),
        sa.Column("licenses", sa.Text(), nullable=False),
        sa.Column("hashes", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        *_run_fks("components"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_components")),
        sa.UniqueConstraint(
            "run_id", "sbom_digest", "key", name=op.f("uq_components_run_id_sbom_digest_key")
        ),
    )
    op.create_index(
        "ix_components_org_id_package_version", "components", ["org_id", "package", "version"]
    )
    op.create_index("ix_components_org_id_name", "components", ["org_id", "name"])
    op.create_table(
        "indexed_runs",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("attested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("components", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["workflow_runs.id"],
            name=op.f("fk_indexed_runs_run_id_workflow_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indexed_runs")),
        sa.UniqueConstraint("run_id", name=op.f("uq_indexed_runs_run_id")),
    )
    op.create_index("ix_indexed_runs_attested_at", "indexed_runs", ["attested_at"])
    # The job's scan: attestations newer than the watermark.
    op.create_index("ix_attestations_created_at", "attestations", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_attestations_created_at", table_name="attestations")
    op.drop_table("indexed_runs")
    op.drop_table("components")
    op.drop_table("referrers")
