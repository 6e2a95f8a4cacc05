"""Jobs: work that runs after a commit, written in the same transaction as its cause.

A job row is the outbox and the record of the work at once: a worker claims it for a
lease, runs it, and marks it done; a failure waits longer each time, and after its last
attempt the job is dead until an admin retries it (jobs/domain/jobs.py).

Mailing a resident about a request is now such a job, so the claim that migration 0008
put on deliveries (``notify_claimed_until`` and its partial index) goes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.kernel.adapters.db.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OPEN = sa.text("state IN ('pending', 'running')")
UNNOTIFIED = sa.text("notified_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("run_after", UTCDateTime(), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.UniqueConstraint("key", name="uq_jobs_key"),
    )
    op.create_index("ix_jobs_open", "jobs", ["state", "run_after"],
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.drop_index("ix_deliveries_unnotified", table_name="deliveries")
    # In place on SQLite (3.35+): a batch copy would rebuild a table consents refer to.
    op.execute("ALTER TABLE deliveries DROP COLUMN notify_claimed_until")


def downgrade() -> None:
    op.execute("ALTER TABLE deliveries ADD COLUMN notify_claimed_until "
               + ("DATETIME" if op.get_bind().dialect.name == "sqlite"
                  else "TIMESTAMP WITH TIME ZONE"))
    op.create_index("ix_deliveries_unnotified", "deliveries", ["created_at"],
                    sqlite_where=UNNOTIFIED, postgresql_where=UNNOTIFIED)
    op.drop_index("ix_jobs_open", table_name="jobs")
    op.drop_table("jobs")
