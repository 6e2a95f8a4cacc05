"""The Neighbors feed: posts, the cells they are shown in, comments and reports.

``posts``: a resident's (or an agency's public-safety) post, at an H3 resolution-8 cell
and its centre (never a home's point), with its derived media's key, hashes and
provenance, its expiry, and its moderation state. ``post_cells``: one row per (cell, post)
while the post is shown, and the feed's index ``ix_post_cells_feed`` (cell, published_at,
post_id, category, expires_at). ``comments`` and ``reports``: the conversation and the
moderation queue.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-16
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.kernel.adapters.db.types import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def _removal() -> list[sa.Column]:
    return [sa.Column("removed_at", UTCDateTime(), nullable=True),
            sa.Column("removed_by", sa.Uuid(), nullable=True),
            sa.Column("removed_reason", sa.String(length=32), nullable=True),
            sa.Column("removed_note", sa.Text(), nullable=True)]


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("cell", sa.BigInteger(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("area_radius_m", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("source_clip_id", sa.Uuid(), nullable=True),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("trim_start", sa.Float(), nullable=True),
        sa.Column("trim_end", sa.Float(), nullable=True),
        sa.Column("blur", sa.Boolean(), nullable=False),
        sa.Column("media_key", sa.String(length=200), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("media_sha256", sa.String(length=64), nullable=True),
        sa.Column("media_size", sa.BigInteger(), nullable=True),
        sa.Column("media_container", sa.String(length=16), nullable=True),
        sa.Column("redaction", sa.JSON(), nullable=True),
        sa.Column("failure", sa.String(length=64), nullable=True),
        sa.Column("purged_at", UTCDateTime(), nullable=True),
        sa.Column("purge_reason", sa.String(length=32), nullable=True),
        *_removal(),
        _fk("posts", "author_id", "accounts"),
        _fk("posts", "agency_id", "agencies"),
        _fk("posts", "source_clip_id", "clips"),
        _fk("posts", "removed_by", "accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )
    op.create_index(op.f("ix_posts_author_id"), "posts", ["author_id"])
    op.create_index(op.f("ix_posts_source_clip_id"), "posts", ["source_clip_id"])
    op.create_index("ix_posts_live_expires_at", "posts", ["expires_at"],
                    sqlite_where=sa.text("purged_at IS NULL"),
                    postgresql_where=sa.text("purged_at IS NULL"))
    op.create_table(
        "post_cells",
        sa.Column("cell", sa.BigInteger(), nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        _fk("post_cells", "post_id", "posts"),
        sa.PrimaryKeyConstraint("cell", "post_id", name=op.f("pk_post_cells")),
    )
    op.create_index(op.f("ix_post_cells_post_id"), "post_cells", ["post_id"])
    op.create_index("ix_post_cells_feed", "post_cells",
                    ["cell", "published_at", "post_id", "category", "expires_at"])
    op.create_table(
        "comments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        *_removal(),
        _fk("comments", "post_id", "posts"),
        _fk("comments", "author_id", "accounts"),
        _fk("comments", "removed_by", "accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    op.create_index("ix_comments_post_created", "comments", ["post_id", "created_at"])
    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("comment_id", sa.Uuid(), nullable=True),
        sa.Column("reporter_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.Column("resolution", sa.String(length=32), nullable=True),
        _fk("reports", "post_id", "posts"),
        _fk("reports", "comment_id", "comments"),
        _fk("reports", "reporter_id", "accounts"),
        _fk("reports", "resolved_by", "accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index(op.f("ix_reports_post_id"), "reports", ["post_id"])
    op.create_index("ix_reports_open", "reports", ["created_at"],
                    sqlite_where=sa.text("resolved_at IS NULL"),
                    postgresql_where=sa.text("resolved_at IS NULL"))


def downgrade() -> None:
    op.drop_table("reports")
    op.drop_table("comments")
    op.drop_table("post_cells")
    op.drop_table("posts")
