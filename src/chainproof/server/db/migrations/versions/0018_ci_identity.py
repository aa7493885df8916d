"""ci_issuers and ci_identity: CI jobs authenticate with their OIDC ID token

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 08:30:00

Trusted CI issuers (``ci_issuers``) map a job's verified ID-token claims to a project and
workflow; the token a job gets in exchange, and the runs it starts, record the verified
identity (``api_tokens.ci_identity``, ``workflow_runs.ci_identity``). Existing tokens and
runs have none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ci_issuers",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("issuer_url", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(length=200), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("workflow_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_ci_issuers_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_ci_issuers_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_ci_issuers_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ci_issuers")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_ci_issuers_org_id_name")),
    )
    op.add_column("api_tokens", sa.Column("ci_identity", sa.JSON(), nullable=True))
    op.add_column("workflow_runs", sa.Column("ci_identity", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("workflow_runs", "ci_identity")
    op.drop_column("api_tokens", "ci_identity")
    op.drop_table("ci_issuers")
