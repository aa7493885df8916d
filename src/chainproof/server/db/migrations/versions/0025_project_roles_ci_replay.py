"""project roles; ID tokens a CI job exchanged (replay refusal), tokens bound to one run

Revision ID: 0025
Revises: 0023
Create Date: 2026-12-07 12:00:00

``project_memberships`` give a person ``admin`` or ``viewer`` in one project; a member or
viewer of the organisation who holds any sees only those projects (docs/identity.md, "Project
roles"). Existing members hold none, so they keep seeing every project.
``ci_token_uses`` remember each exchanged OIDC ID token until it expires, and
``api_tokens.run_id`` binds a token that was exchanged again to the run its ID token started
(docs/ci-identity.md, "Replays"); existing tokens are bound to no run.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_memberships",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_project_memberships_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_memberships_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_project_memberships_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_memberships")),
        sa.UniqueConstraint(
            "project_id", "user_id", name=op.f("uq_project_memberships_project_id_user_id")
        ),
    )
    op.create_index(
        "ix_project_memberships_org_id_user_id", "project_memberships", ["org_id", "user_id"]
    )
    op.create_table(
        "ci_token_uses",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token_id", sa.String(length=36), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_ci_token_uses_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_ci_token_uses_token_id_api_tokens"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ci_token_uses")),
        sa.UniqueConstraint("org_id", "key_hash", name=op.f("uq_ci_token_uses_org_id_key_hash")),
    )
    op.create_index(op.f("ix_ci_token_uses_expires_at"), "ci_token_uses", ["expires_at"])
    op.create_index(op.f("ix_ci_token_uses_token_id"), "ci_token_uses", ["token_id"])
    op.add_column("api_tokens", sa.Column("run_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    op.drop_column("api_tokens", "run_id")
    op.drop_index(op.f("ix_ci_token_uses_token_id"), table_name="ci_token_uses")
    op.drop_index(op.f("ix_ci_token_uses_expires_at"), table_name="ci_token_uses")
    op.drop_table("ci_token_uses")
    op.drop_index("ix_project_memberships_org_id_user_id", table_name="project_memberships")
    op.drop_table("project_memberships")
