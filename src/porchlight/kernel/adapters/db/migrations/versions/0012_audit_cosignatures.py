"""Witness cosignatures on audit checkpoints (C2SP tlog-cosignature), append-only.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.kernel.adapters.db.ddl import make_append_only

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

LOG_INTEGER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_cosignatures",
        sa.Column("size", LOG_INTEGER, autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(length=200), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("cosigned_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["size"], ["audit_checkpoints.size"],
            name=op.f("fk_audit_cosignatures_size_audit_checkpoints"),
        ),
        sa.PrimaryKeyConstraint("size", "witness", name=op.f("pk_audit_cosignatures")),
    )
    make_append_only("audit_cosignatures")


def downgrade() -> None:
    op.drop_table("audit_cosignatures")
