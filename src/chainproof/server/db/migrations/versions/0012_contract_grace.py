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


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("contract_grace_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("contract_grace_seconds")
