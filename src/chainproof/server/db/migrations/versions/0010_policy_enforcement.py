"""policy enforcement: organisation strategy and required policies, robot bypass, results

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 10:00:00

Existing organisations are advisory with no required policies, existing tokens may not
bypass, and runs pushed before this revision have no stored policy results.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(
            sa.Column(
                "policy_strategy", sa.String(length=20), nullable=False, server_default="advisory"
            )
        )
        batch.add_column(sa.Column("required_policies", sa.JSON(), nullable=True))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("policy_bypass", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "policy_evaluations",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("material", sa.String(length=200), nullable=True),
        sa.Column("policy", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("gate", sa.Boolean(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("violations", sa.JSON(), nullable=False),
        sa.Column("evaluation", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["workflow_runs.id"],
            name=op.f("fk_policy_evaluations_run_id_workflow_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_policy_evaluations_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_evaluations")),
    )
    op.create_index(op.f("ix_policy_evaluations_run_id"), "policy_evaluations", ["run_id"])
    op.create_index(
        "ix_policy_evaluations_org_id_policy", "policy_evaluations", ["org_id", "policy"]
    )


def downgrade() -> None:
    op.drop_index("ix_policy_evaluations_org_id_policy", table_name="policy_evaluations")
    op.drop_index(op.f("ix_policy_evaluations_run_id"), table_name="policy_evaluations")
    op.drop_table("policy_evaluations")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("policy_bypass")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("required_policies")
        batch.drop_column("policy_strategy")
