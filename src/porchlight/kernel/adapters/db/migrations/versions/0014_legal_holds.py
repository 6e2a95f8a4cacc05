"""Legal holds on a case's evidence, and the closing of a case.

``legal_holds``: one row per hold a supervisor set on a request (the case), with its
reason (the audit leaf carries a commitment to it, keyed by ``reason_nonce``) and end
date; the terms are immutable and rows are never deleted (triggers), only the release is
set once. ``video_requests.case_closed_at`` and ``case_closed_by``: closing the case ends
its holds.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.kernel.adapters.db.ddl import make_immutable_columns
from porchlight.kernel.adapters.db.types import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

FK = "fk_video_requests_case_closed_by_accounts"
TERMS = ["id", "request_id", "agency_id", "set_by", "set_by_role", "set_at", "until",
         "reason", "reason_nonce"]


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("set_by", sa.Uuid(), nullable=False),
        sa.Column("set_by_role", sa.String(length=32), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reason_nonce", sa.String(length=32), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("released_by", sa.Uuid(), nullable=True),
        sa.Column("end_cause", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"],
                                name=op.f("fk_legal_holds_agency_id_agencies")),
        sa.ForeignKeyConstraint(["released_by"], ["accounts.id"],
                                name=op.f("fk_legal_holds_released_by_accounts")),
        sa.ForeignKeyConstraint(["request_id"], ["video_requests.id"],
                                name=op.f("fk_legal_holds_request_id_video_requests")),
        sa.ForeignKeyConstraint(["set_by"], ["accounts.id"],
                                name=op.f("fk_legal_holds_set_by_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index(op.f("ix_legal_holds_request_id"), "legal_holds", ["request_id"],
                    unique=False)
    make_immutable_columns("legal_holds", TERMS)
    if op.get_bind().dialect.name == "sqlite":
        # In place, as in 0010: a batch copy would rebuild a table others refer to.
        op.execute(f"ALTER TABLE video_requests ADD COLUMN case_closed_by CHAR(32) "
                   f"CONSTRAINT {FK} REFERENCES accounts (id)")
    else:
        op.add_column("video_requests", sa.Column("case_closed_by", sa.Uuid(), nullable=True))
        op.create_foreign_key(FK, "video_requests", "accounts", ["case_closed_by"], ["id"])
    op.add_column("video_requests", sa.Column("case_closed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_index(op.f("ix_legal_holds_request_id"), table_name="legal_holds")
    op.drop_table("legal_holds")  # its triggers go with it
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("video_requests", schema=None) as batch_op:
            batch_op.drop_column("case_closed_at")
            batch_op.drop_column("case_closed_by")
    else:
        op.drop_constraint(FK, "video_requests", type_="foreignkey")
        op.drop_column("video_requests", "case_closed_at")
        op.drop_column("video_requests", "case_closed_by")
