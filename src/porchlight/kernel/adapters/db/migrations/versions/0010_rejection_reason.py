"""A rejected request keeps who rejected it and why: the officer reads the reason.

``rejected_by``, ``rejection_reason`` and ``rejection_nonce``: the audit leaf of a
rejection carries the reason's length and a commitment keyed by the nonce, never the text.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FK = "fk_video_requests_rejected_by_accounts"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Added in place: a batch copy would drop and rebuild the table that deliveries
        # and consents refer to, which SQLite's foreign keys refuse once they have rows.
        op.execute(f"ALTER TABLE video_requests ADD COLUMN rejected_by CHAR(32) "
                   f"CONSTRAINT {FK} REFERENCES accounts (id)")
    else:
        op.add_column("video_requests", sa.Column("rejected_by", sa.Uuid(), nullable=True))
        op.create_foreign_key(FK, "video_requests", "accounts", ["rejected_by"], ["id"])
    op.add_column("video_requests", sa.Column("rejection_reason", sa.Text(), nullable=True))
    op.add_column("video_requests",
                  sa.Column("rejection_nonce", sa.String(length=32), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # The batch copy leaves the columns, and the reference with them, behind.
        with op.batch_alter_table("video_requests", schema=None) as batch_op:
            for column in ("rejection_nonce", "rejection_reason", "rejected_by"):
                batch_op.drop_column(column)
        return
    op.drop_constraint(FK, "video_requests", type_="foreignkey")
    for column in ("rejection_nonce", "rejection_reason", "rejected_by"):
        op.drop_column("video_requests", column)
