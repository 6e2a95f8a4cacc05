"""Clips: encrypted footage metadata, wrapped data keys, expiry.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.kernel.adapters.db.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clips",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("camera_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("container", sa.String(length=16), nullable=False),
        sa.Column("video_codec", sa.String(length=16), nullable=False),
        sa.Column("audio_codec", sa.String(length=16), nullable=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("frame_rate", sa.Float(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("rotation", sa.Integer(), nullable=False),
        sa.Column("object_key", sa.String(length=200), nullable=False),
        sa.Column("poster_key", sa.String(length=200), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("deletion_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_clips_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["accounts.id"], name=op.f("fk_clips_owner_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clips")),
        sa.UniqueConstraint("object_key", name=op.f("uq_clips_object_key")),
    )
    with op.batch_alter_table("clips", schema=None) as batch_op:
        batch_op.create_index(
            "ix_clips_camera_recorded", ["camera_id", "recorded_at"], unique=False
        )
        batch_op.create_index("ix_clips_camera_sha256", ["camera_id", "sha256"], unique=False)
        batch_op.create_index("ix_clips_expires_at", ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_clips_owner_id"), ["owner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("clips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clips_owner_id"))
        batch_op.drop_index("ix_clips_expires_at")
        batch_op.drop_index("ix_clips_camera_sha256")
        batch_op.drop_index("ix_clips_camera_recorded")

    op.drop_table("clips")
