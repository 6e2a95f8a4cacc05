"""An evidence item's custody chain is one short lookup in the audit events.

An export lists every custody event of its item (``evidence.received``, ``.viewed``,
``.exported``) with its leaf. They are found by the ``evidence_id`` in their payload: an
expression index on it (SQLite ``json_extract``, PostgreSQL ``->>``), spelled exactly as
``audit.adapters.sql_log.payload_text`` queries it. Not declared on the table (Alembic
does not compare expression indexes); nothing else changes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-14
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

INDEX = "ix_audit_events_evidence_id"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE INDEX {INDEX} ON audit_events "
                   "(json_extract(payload, '$.evidence_id'))")
    else:
        op.execute(f"CREATE INDEX {INDEX} ON audit_events ((payload ->> 'evidence_id'))")


def downgrade() -> None:
    op.execute(f"DROP INDEX {INDEX}")
