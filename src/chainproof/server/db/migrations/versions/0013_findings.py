"""drift findings, and a workflow's set cadence

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 03:00:00

Findings start empty (the worker's periodic job fills them on its first round); every
workflow's cadence is learned from its runs until someone sets one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_OPEN = sa.text("closed_at IS NULL")


def upgrade() -> None:
    # Plain ADD/DROP COLUMN, never batch mode: recreating ``workflows`` on SQLite would
    # cascade the drop of the old table to its runs.
    op.add_column("workflows", sa.Column("cadence_seconds", sa.Integer(), nullable=True))
    op.create_table(
        "findings",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("workflow_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("acknowledged_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_findings_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_findings_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
    )
    op.create_index(
        "uq_findings_open_workflow_kind",
        "findings",
        ["workflow_id", "kind"],
        unique=True,
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )
    op.create_index("ix_findings_org_id_opened_at", "findings", ["org_id", "opened_at"])


def downgrade() -> None:
    op.drop_index("ix_findings_org_id_opened_at", table_name="findings")
    op.drop_index("uq_findings_open_workflow_kind", table_name="findings")
    op.drop_table("findings")
    op.drop_column("workflows", "cadence_seconds")
