"""signed SLSA verification summaries (VSA) of verified runs

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-27 09:00:00

Runs pushed before this revision have no VSA: it is issued at push, in the push's transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verification_summaries",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("result", sa.String(length=10), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("bundle", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=100), nullable=False),
        sa.Column("statement", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["workflow_runs.id"],
            name=op.f("fk_verification_summaries_run_id_workflow_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_summaries")),
        sa.UniqueConstraint("run_id", name=op.f("uq_verification_summaries_run_id")),
    )


def downgrade() -> None:
    op.drop_table("verification_summaries")
