"""cas_run_uploads: which run sent which blob to the CAS

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-07 05:00:00

Push accepts a CAS material only when the run uploaded it (proof that it holds the bytes) or
the pushing token can already read it (docs/cas.md). The table starts empty: nothing recorded
which run uploaded a blob before this revision, so a run still in progress during the upgrade
whose robot cannot read its fresh blobs through another run must add them again
(`attestation add`) before it pushes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cas_run_uploads",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("digest", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_cas_run_uploads_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["workflow_runs.id"],
            name=op.f("fk_cas_run_uploads_run_id_workflow_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cas_run_uploads")),
        sa.UniqueConstraint("run_id", "digest", name=op.f("uq_cas_run_uploads_run_id_digest")),
    )
    op.create_index(op.f("ix_cas_run_uploads_org_id"), "cas_run_uploads", ["org_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_cas_run_uploads_org_id"), table_name="cas_run_uploads")
    op.drop_table("cas_run_uploads")
