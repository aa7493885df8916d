"""organisations may let policies' http.send reach allow-listed hosts

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 12:00:00

No host is allowed until an owner or admin sets ``policy_allowed_hostnames``
(``org update --policy-allowed-hostnames``): a policy calling ``http.send`` stays refused.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("organizations", sa.Column("policy_allowed_hostnames", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("organizations", "policy_allowed_hostnames")
