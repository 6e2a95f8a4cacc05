"""Deliveries: mailing a resident is claimed for a while, and marked only once sent.

A delivery is now marked ``notified_at`` only after its message was sent (before, the
time was set when the delivery was made, and a failed send was never retried). A run
that is about to mail a resident first claims the delivery (``notify_claimed_until``), so
two runs at once do not both mail; a run that dies leaves the claim to lapse. The worker
looks for the unmailed ones on every pass; a partial index keeps that a short read
however many deliveries there are.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.kernel.adapters.db.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UNNOTIFIED = sa.text("notified_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notify_claimed_until", UTCDateTime(), nullable=True))
    op.create_index("ix_deliveries_unnotified", "deliveries", ["created_at"],
                    sqlite_where=UNNOTIFIED, postgresql_where=UNNOTIFIED)


def downgrade() -> None:
    op.drop_index("ix_deliveries_unnotified", table_name="deliveries")
    if op.get_bind().dialect.name == "sqlite":
        # In place (SQLite 3.35+): a batch copy would drop and rebuild a table that
        # consents refer to, which SQLite's foreign keys refuse once it has rows.
        op.execute("ALTER TABLE deliveries DROP COLUMN notify_claimed_until")
    else:
        op.drop_column("deliveries", "notify_claimed_until")
