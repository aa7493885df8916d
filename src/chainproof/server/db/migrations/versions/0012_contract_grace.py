"""organisations: a grace period for new contract revisions

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 03:00:00

``contract_grace_seconds``: once a contract revision has been published this long, runs on an
older revision of that contract are refused (init pinned to it, and push). NULL (the default,
and what existing organisations get) keeps accepting every revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN, never batch mode: on SQLite a batch that recreates
# ``organizations`` would cascade the drop of the old table to every row that points at it.


def upgrade() -> None:
    op.add_column("organizations", sa.Column("contract_grace_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("organizations", "contract_grace_seconds")
