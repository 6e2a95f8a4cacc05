"""How often one account did one thing lately is one short lookup in the audit events.

The officer's reach preview is limited per staff account by counting that account's
recent preview events. An index on ``audit_events`` (actor, kind, time) keeps the count a
short range read however long the log grows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_events_actor_kind_time", "audit_events",
                    ["actor_id", "kind", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_actor_kind_time", table_name="audit_events")
