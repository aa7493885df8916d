"""blocks with reason, actor and time; blocked projects; archived workflows; default contract

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 03:00:00

Existing workflows keep their ``blocked`` flag (with no recorded reason), no project is
blocked, no workflow is archived and no organisation has a default contract.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _block_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("blocked_reason", sa.Text(), nullable=True),
        sa.Column("blocked_by", sa.String(length=200), nullable=True),
        sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    # Plain ADD COLUMNs, not batch mode: on SQLite a batch with a SQL-expression default
    # recreates the table, and dropping ``projects`` or ``workflows`` would cascade to runs.
    for table in ("workflows", "projects"):
        if table == "projects":
            op.add_column(
                table, sa.Column("blocked", sa.Boolean(), nullable=False, server_default=sa.false())
            )
        for column in _block_columns():
            op.add_column(table, column)
    op.add_column("workflows", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "organizations", sa.Column("default_contract_id", sa.String(length=36), nullable=True)
    )
    op.create_index("ix_audit_events_org_id_at", "audit_events", ["org_id", "at"])


def downgrade() -> None:
    # Plain DROP COLUMNs (SQLite 3.35+) for the same reason.
    op.drop_index("ix_audit_events_org_id_at", table_name="audit_events")
    op.drop_column("organizations", "default_contract_id")
    for name in ("blocked_at", "blocked_by", "blocked_reason", "blocked"):
        op.drop_column("projects", name)
    for name in ("archived_at", "blocked_at", "blocked_by", "blocked_reason"):
        op.drop_column("workflows", name)
