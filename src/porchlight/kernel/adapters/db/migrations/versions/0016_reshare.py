"""Re-sharing evidence within the owner's consent.

``evidence_shares``: one row per re-share of an evidence item to another agency, with
the reason (the audit leaf carries a commitment to it, keyed by ``reason_nonce``) and the
copy's deletion date; its terms are immutable and rows are never deleted (triggers).
``evidence_items.parent_id``: a re-shared copy names the item it was copied from. A copy
has the same consent and clip as its parent, so ``one_per_clip`` (one item per consented
clip) now holds for the items derived for the request only: a unique index over the rows
without a parent, instead of a unique constraint over all.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.kernel.adapters.db.ddl import make_immutable_columns
from porchlight.kernel.adapters.db.types import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ORIGINALS = sa.text("parent_id IS NULL")
PARENT_FK = "fk_evidence_items_parent_id_evidence_items"
TERMS = ["id", "evidence_id", "consent_id", "request_id", "source_clip_id", "from_agency_id",
         "to_agency_id", "shared_by", "shared_by_role", "shared_at", "reason", "reason_nonce",
         "expires_at"]


def upgrade() -> None:
    # SQLite cannot drop a table's unique constraint: the batch rebuilds evidence_items
    # there (no trigger lives on it, and no table refers to it yet); PostgreSQL alters it.
    recreate = "always" if op.get_bind().dialect.name == "sqlite" else "never"
    with op.batch_alter_table("evidence_items", recreate=recreate) as batch:
        batch.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(PARENT_FK, "evidence_items", ["parent_id"], ["id"])
        batch.drop_constraint("one_per_clip", type_="unique")
        batch.create_index("ix_evidence_items_parent_id", ["parent_id"], unique=False)
        batch.create_index("one_per_clip", ["consent_id", "source_clip_id"], unique=True,
                           sqlite_where=ORIGINALS, postgresql_where=ORIGINALS)
    op.create_table(
        "evidence_shares",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("source_clip_id", sa.Uuid(), nullable=False),
        sa.Column("from_agency_id", sa.Uuid(), nullable=False),
        sa.Column("to_agency_id", sa.Uuid(), nullable=False),
        sa.Column("shared_by", sa.Uuid(), nullable=False),
        sa.Column("shared_by_role", sa.String(length=32), nullable=False),
        sa.Column("shared_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reason_nonce", sa.String(length=32), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence_items.id"],
                                name=op.f("fk_evidence_shares_evidence_id_evidence_items")),
        sa.ForeignKeyConstraint(["consent_id"], ["consents.id"],
                                name=op.f("fk_evidence_shares_consent_id_consents")),
        sa.ForeignKeyConstraint(["request_id"], ["video_requests.id"],
                                name=op.f("fk_evidence_shares_request_id_video_requests")),
        sa.ForeignKeyConstraint(["source_clip_id"], ["clips.id"],
                                name=op.f("fk_evidence_shares_source_clip_id_clips")),
        sa.ForeignKeyConstraint(["from_agency_id"], ["agencies.id"],
                                name=op.f("fk_evidence_shares_from_agency_id_agencies")),
        sa.ForeignKeyConstraint(["to_agency_id"], ["agencies.id"],
                                name=op.f("fk_evidence_shares_to_agency_id_agencies")),
        sa.ForeignKeyConstraint(["shared_by"], ["accounts.id"],
                                name=op.f("fk_evidence_shares_shared_by_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_shares")),
    )
    op.create_index(op.f("ix_evidence_shares_evidence_id"), "evidence_shares", ["evidence_id"])
    op.create_index(op.f("ix_evidence_shares_consent_id"), "evidence_shares", ["consent_id"])
    make_immutable_columns("evidence_shares", TERMS)


def downgrade() -> None:
    copies = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM evidence_items WHERE parent_id IS NOT NULL")).scalar_one()
    if copies:
        raise RuntimeError(
            f"{copies} re-shared evidence copies exist: the schema before 0016 cannot hold "
            "them (one item per consented clip). Nothing was changed.")
    op.drop_table("evidence_shares")  # its triggers go with it
    recreate = "always" if op.get_bind().dialect.name == "sqlite" else "never"
    with op.batch_alter_table("evidence_items", recreate=recreate) as batch:
        batch.drop_index("one_per_clip")
        batch.drop_index("ix_evidence_items_parent_id")
        batch.drop_constraint(PARENT_FK, type_="foreignkey")
        batch.drop_column("parent_id")
        batch.create_unique_constraint("one_per_clip", ["consent_id", "source_clip_id"])
