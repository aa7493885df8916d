"""organisations may revoke API tokens left unused for a while

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 10:00:00

No organisation revokes unused tokens until an owner or admin sets
``revoke_unused_tokens_seconds`` (``org update --revoke-unused-tokens-after``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "organizations", sa.Column("revoke_unused_tokens_seconds", sa.Integer(), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("organizations", "revoke_unused_tokens_seconds")
