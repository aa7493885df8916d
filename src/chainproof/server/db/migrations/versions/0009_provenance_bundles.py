"""a run's signed SLSA Provenance bundle, stored with its verification summary

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 09:00:00

Provenance was signed anew on every request; now it is signed, logged and timestamped once
(on its first request) and served from here, so readers cannot grow the transparency log.
Existing summaries start without one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verification_summaries") as batch:
        batch.add_column(sa.Column("provenance_bundle", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("verification_summaries") as batch:
        batch.drop_column("provenance_bundle")
