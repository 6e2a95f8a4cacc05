"""The holding agency's answer to a resident's deletion request, on each evidence item.

Four nullable columns on ``evidence_items``: the answer's code (``deleted`` or ``kept``),
when it was given, the role of who gave it, and the legal hold a ``kept`` answer names.
The hold's id carries no foreign key: SQLite would rebuild the table to add one, and the
service checks the hold (custody.domain.deletion.check_hold) when the answer is given.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.kernel.adapters.db.types import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

COLUMNS = ("deletion_answer", "deletion_answered_at", "deletion_answered_role",
           "deletion_hold_id")


def upgrade() -> None:
    op.add_column("evidence_items", sa.Column("deletion_answer", sa.String(16), nullable=True))
    op.add_column("evidence_items", sa.Column("deletion_answered_at", UTCDateTime(),
                                              nullable=True))
    op.add_column("evidence_items", sa.Column("deletion_answered_role", sa.String(32),
                                              nullable=True))
    op.add_column("evidence_items", sa.Column("deletion_hold_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN on both databases (SQLite has it since 3.35): a batch
    # rebuild would rewrite the table's CREATE statement, which 0017's downgrade edits.
    for column in reversed(COLUMNS):
        op.execute(f"ALTER TABLE evidence_items DROP COLUMN {column}")
