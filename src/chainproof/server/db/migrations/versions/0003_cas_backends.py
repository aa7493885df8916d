"""organisation-managed CAS backends; which backend holds each blob and material

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 09:00:00

Existing ``cas_blobs`` and ``materials`` rows keep ``backend_id``/``cas_backend_id`` NULL: their
blobs are in the embedded filesystem store, which is what NULL means.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cas_backends",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("is_fallback", sa.Boolean(), nullable=False),
        sa.Column("max_blob_size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("validated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.CheckConstraint(
            "provider IN ('fs', 'oci', 's3', 'azure-blob', 'inline')",
            name="ck_cas_backends_provider",
        ),
        sa.CheckConstraint("status IN ('ok', 'invalid', 'unknown')", name="ck_cas_backends_status"),
        sa.CheckConstraint(
            "NOT (is_default AND is_fallback)", name="ck_cas_backends_default_or_fallback"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_cas_backends_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cas_backends")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_cas_backends_org_id_name")),
    )
    # One default and one fallback per organisation, enforced by the database as well.
    op.create_index(
        "uq_cas_backends_org_id_default",
        "cas_backends",
        ["org_id"],
        unique=True,
        sqlite_where=sa.text("is_default"),
        postgresql_where=sa.text("is_default"),
    )
    op.create_index(
        "uq_cas_backends_org_id_fallback",
        "cas_backends",
        ["org_id"],
        unique=True,
        sqlite_where=sa.text("is_fallback"),
        postgresql_where=sa.text("is_fallback"),
    )
    with op.batch_alter_table("cas_blobs") as batch:
        batch.add_column(sa.Column("backend_id", sa.String(length=36), nullable=True))
        batch.create_index(op.f("ix_cas_blobs_backend_id"), ["backend_id"], unique=False)
        batch.create_foreign_key(
            op.f("fk_cas_blobs_backend_id_cas_backends"), "cas_backends", ["backend_id"], ["id"]
        )
    with op.batch_alter_table("materials") as batch:
        batch.add_column(sa.Column("cas_backend_id", sa.String(length=36), nullable=True))
        batch.create_foreign_key(
            op.f("fk_materials_cas_backend_id_cas_backends"),
            "cas_backends",
            ["cas_backend_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("materials") as batch:
        batch.drop_constraint(op.f("fk_materials_cas_backend_id_cas_backends"), type_="foreignkey")
        batch.drop_column("cas_backend_id")
    with op.batch_alter_table("cas_blobs") as batch:
        batch.drop_constraint(op.f("fk_cas_blobs_backend_id_cas_backends"), type_="foreignkey")
        batch.drop_index(op.f("ix_cas_blobs_backend_id"))
        batch.drop_column("backend_id")
    op.drop_index("uq_cas_backends_org_id_fallback", table_name="cas_backends")
    op.drop_index("uq_cas_backends_org_id_default", table_name="cas_backends")
    op.drop_table("cas_backends")
