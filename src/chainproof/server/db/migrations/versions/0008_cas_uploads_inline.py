"""run-less CAS uploads and who owns them; materials held inline in the attestation

Revision ID: 0008
Revises: 0003
Create Date: 2026-11-27 09:00:00

``cas_uploads`` starts empty: blobs uploaded outside a run before this revision have no
recorded uploader, so they stay downloadable only through a run that references them (as
before). Existing materials are not inline (``inline`` false).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cas_uploads",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("digest", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("backend_id", sa.String(length=36), nullable=True),
        sa.Column("token_id", sa.String(length=36), nullable=True),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_cas_uploads_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["backend_id"], ["cas_backends.id"], name=op.f("fk_cas_uploads_backend_id_cas_backends")
        ),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_cas_uploads_token_id_api_tokens"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_cas_uploads_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_cas_uploads_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cas_uploads")),
    )
    op.create_index("ix_cas_uploads_org_id_digest", "cas_uploads", ["org_id", "digest"])
    op.create_index(op.f("ix_cas_uploads_token_id"), "cas_uploads", ["token_id"])
    op.create_index(op.f("ix_cas_uploads_user_id"), "cas_uploads", ["user_id"])
    op.create_index(op.f("ix_cas_uploads_project_id"), "cas_uploads", ["project_id"])
    with op.batch_alter_table("materials") as batch:
        batch.add_column(
            sa.Column("inline", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("materials") as batch:
        batch.drop_column("inline")
    op.drop_index(op.f("ix_cas_uploads_project_id"), table_name="cas_uploads")
    op.drop_index(op.f("ix_cas_uploads_user_id"), table_name="cas_uploads")
    op.drop_index(op.f("ix_cas_uploads_token_id"), table_name="cas_uploads")
    op.drop_index("ix_cas_uploads_org_id_digest", table_name="cas_uploads")
    op.drop_table("cas_uploads")
