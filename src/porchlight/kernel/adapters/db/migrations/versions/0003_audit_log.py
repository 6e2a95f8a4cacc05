"""Audit log: Merkle leaves, complete tree nodes and signed checkpoints, all append-only.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.kernel.adapters.db.ddl import make_append_only
from porchlight.kernel.adapters.db.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LOG_INTEGER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLES = ("audit_leaves", "audit_nodes", "audit_checkpoints")


def upgrade() -> None:
    op.create_table(
        "audit_leaves",
        sa.Column("leaf_index", LOG_INTEGER, autoincrement=False, nullable=False),
        sa.Column("event_id", LOG_INTEGER, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("leaf_index >= 0", name=op.f("ck_audit_leaves_index_not_negative")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["audit_events.id"], name=op.f("fk_audit_leaves_event_id_audit_events")
        ),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_audit_leaves")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_leaves_event_id")),
    )
    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("node_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("level BETWEEN 0 AND 63", name=op.f("ck_audit_nodes_level_range")),
        sa.CheckConstraint("node_index >= 0", name=op.f("ck_audit_nodes_index_not_negative")),
        sa.PrimaryKeyConstraint("level", "node_index", name=op.f("pk_audit_nodes")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", LOG_INTEGER, autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("verifier_key", sa.String(length=200), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("size > 0", name=op.f("ck_audit_checkpoints_size_positive")),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_audit_checkpoints")),
    )
    for table in TABLES:
        make_append_only(table)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
