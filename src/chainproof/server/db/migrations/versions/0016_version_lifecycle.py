"""project version lifecycle: released versions, the organisation's refusal of runs on them

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 05:00:00

Every existing version stays a prerelease (``released_at`` NULL) and no organisation refuses
runs on released versions. The index on ``workflow_runs.project_version_id`` serves the
per-version run counts of ``project version list`` and the run list's ``--version`` filter;
the one on ``project_versions`` the version list's keyset pages, newest first.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs, not batch mode: on SQLite a batch recreates the table, and dropping
    # ``organizations`` or ``project_versions`` would cascade to their runs.
    op.add_column(
        "project_versions", sa.Column("released_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "project_versions", sa.Column("released_by", sa.String(length=200), nullable=True)
    )
    op.add_column(
        "organizations",
        sa.Column(
            "refuse_released_versions", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    op.create_index(
        "ix_project_versions_project_id_created_at_id",
        "project_versions",
        ["project_id", "created_at", "id"],
    )
    op.create_index("ix_workflow_runs_project_version_id", "workflow_runs", ["project_version_id"])


def downgrade() -> None:
    # Plain DROP COLUMNs (SQLite 3.35+) for the same reason.
    op.drop_index("ix_workflow_runs_project_version_id", table_name="workflow_runs")
    op.drop_index("ix_project_versions_project_id_created_at_id", table_name="project_versions")
    op.drop_column("organizations", "refuse_released_versions")
    op.drop_column("project_versions", "released_by")
    op.drop_column("project_versions", "released_at")
