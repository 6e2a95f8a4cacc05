"""Redacted copies: a clip with bystanders' faces covered, and where they are used.

A new table ``redacted_copies`` (redaction/domain/copies.py), a nullable JSON column on
``consents`` naming the approved copy shared instead of each clip, and a nullable column
on ``evidence_items`` naming the copy an item was made from. Added columns only, so
SQLite needs no table rebuild.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.kernel.adapters.db.types import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "redacted_copies",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("clip_id", sa.Uuid(), sa.ForeignKey("clips.id"), nullable=False),
        sa.Column("owner_id", sa.Uuid(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("parent_sha256", sa.String(64), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("object_key", sa.String(200), nullable=True, unique=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("detector", sa.String(40), nullable=True),
        sa.Column("detector_version", sa.String(200), nullable=True),
        sa.Column("provenance", sa.JSON(), nullable=True),
        sa.Column("low_confidence", sa.JSON(), nullable=True),
        sa.Column("snapshots", sa.LargeBinary(), nullable=True),
        sa.Column("failure", sa.String(200), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("purged_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_redacted_copies_clip_id", "redacted_copies", ["clip_id"])
    op.add_column("consents", sa.Column("blurred_copies", sa.JSON(), nullable=True))
    op.add_column("evidence_items", sa.Column("redacted_copy_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN on both databases (see 0018 on why not a batch rebuild)
    op.execute("ALTER TABLE evidence_items DROP COLUMN redacted_copy_id")
    op.execute("ALTER TABLE consents DROP COLUMN blurred_copies")
    op.drop_index("ix_redacted_copies_clip_id", "redacted_copies")
    op.drop_table("redacted_copies")
