"""The public log's two kinds of leaves: secrets that open commitments, padding leaves.

``audit_openings`` holds, per leaf and slot, the secret that opens a commitment and who
may open it; it is deliberately not append-only (forgetting an account deletes its rows).
``audit_leaves.event_id`` becomes nullable: a padding leaf has no event.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.kernel.adapters.db.ddl import make_append_only

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LOG_INTEGER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _event_id_nullable(nullable: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("audit_leaves", "event_id", existing_type=sa.BigInteger(),
                        nullable=nullable)
        return
    # SQLite rebuilds the table; its append-only triggers go with the old one.
    with op.batch_alter_table("audit_leaves", recreate="always") as batch:
        batch.alter_column("event_id", existing_type=LOG_INTEGER, nullable=nullable)
    make_append_only("audit_leaves")


def upgrade() -> None:
    _event_id_nullable(True)
    op.create_table(
        "audit_openings",
        sa.Column("leaf_index", LOG_INTEGER, autoincrement=False, nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("event_id", LOG_INTEGER, nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("secret", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["audit_events.id"],
                                name=op.f("fk_audit_openings_event_id_audit_events")),
        sa.PrimaryKeyConstraint("leaf_index", "slot", name=op.f("pk_audit_openings")),
    )
    op.create_index(op.f("ix_audit_openings_account_id"), "audit_openings", ["account_id"])
    op.create_index(op.f("ix_audit_openings_agency_id"), "audit_openings", ["agency_id"])


def downgrade() -> None:
    op.drop_table("audit_openings")
    # Padding leaves cannot go back into a NOT NULL column: a log with version 2 leaves
    # stays as it is; an empty or version 1 log is restored exactly.
    padded = op.get_bind().execute(
        sa.text("SELECT 1 FROM audit_leaves WHERE event_id IS NULL LIMIT 1")).first()
    if padded is None:
        _event_id_nullable(False)
