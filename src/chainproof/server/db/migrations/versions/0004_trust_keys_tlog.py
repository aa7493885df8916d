"""trust keys (tlog, ctlog, tsa) and the per-organisation transparency log

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 11:35:00

Keys are created lazily on first use, so existing organisations need no data migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trust_keys",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("key_id", sa.LargeBinary(), nullable=False),
        sa.Column("public_key_der", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_private_key", sa.LargeBinary(), nullable=False),
        sa.Column("cert_chain_pem", sa.Text(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.CheckConstraint("purpose IN ('tlog', 'ctlog', 'tsa')", name="ck_trust_keys_purpose"),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_trust_keys_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_keys")),
    )
    op.create_index(op.f("ix_trust_keys_org_id"), "trust_keys", ["org_id"], unique=False)
    # One current key per purpose: what makes get-or-create safe between processes.
    op.create_index(
        "uq_trust_keys_org_id_purpose_current",
        "trust_keys",
        ["org_id", "purpose"],
        unique=True,
        sqlite_where=sa.text("valid_until IS NULL"),
        postgresql_where=sa.text("valid_until IS NULL"),
    )
    op.create_table(
        "tlog_logs",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_tlog_logs_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tlog_logs")),
        sa.UniqueConstraint("org_id", name=op.f("uq_tlog_logs_org_id")),
    )
    op.create_table(
        "tlog_leaves",
        sa.Column("log_id", sa.String(length=36), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("integrated_time", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["log_id"],
            ["tlog_logs.id"],
            name=op.f("fk_tlog_leaves_log_id_tlog_logs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tlog_leaves")),
        sa.UniqueConstraint("log_id", "idx", name=op.f("uq_tlog_leaves_log_id_idx")),
    )
    op.create_index(op.f("ix_tlog_leaves_run_id"), "tlog_leaves", ["run_id"], unique=False)
    op.create_table(
        "tlog_nodes",
        sa.Column("log_id", sa.String(length=36), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["log_id"],
            ["tlog_logs.id"],
            name=op.f("fk_tlog_nodes_log_id_tlog_logs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tlog_nodes")),
        sa.UniqueConstraint("log_id", "level", "idx", name=op.f("uq_tlog_nodes_log_id_level_idx")),
    )


def downgrade() -> None:
    op.drop_table("tlog_nodes")
    op.drop_index(op.f("ix_tlog_leaves_run_id"), table_name="tlog_leaves")
    op.drop_table("tlog_leaves")
    op.drop_table("tlog_logs")
    op.drop_index("uq_trust_keys_org_id_purpose_current", table_name="trust_keys")
    op.drop_index(op.f("ix_trust_keys_org_id"), table_name="trust_keys")
    op.drop_table("trust_keys")
