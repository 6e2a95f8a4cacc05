"""Clips: at most one live clip per camera with the same bytes, enforced by the database.

The upload checks for an earlier clip with the same SHA-256 before it publishes (a retry
after a lost answer gets the existing clip), but two identical uploads running at the
same moment could both pass that check. This unique index makes the second commit fail;
the upload then answers with the clip that won. Deleted clips keep their row (with
``deleted_at``) and are left out, so the same bytes can be uploaded again after a
deletion.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    duplicates = op.get_bind().execute(sa.text(
        "SELECT camera_id, count(*) FROM clips WHERE deleted_at IS NULL "
        "GROUP BY camera_id, sha256 HAVING count(*) > 1")).all()
    if duplicates:
        # SQLite keeps a UUID as 32 hex digits, PostgreSQL as a uuid: show both alike.
        cameras = ", ".join(sorted({str(uuid.UUID(str(row[0]))) for row in duplicates}))
        raise RuntimeError(
            f"Live clips with the same bytes on one camera, {len(duplicates)} set(s) "
            f"(cameras {cameras}), left by uploads that raced before this migration. "
            "Nothing was changed. Have the owners delete the extra copies in the app, then "
            "run the upgrade again.")
    with op.batch_alter_table("clips", schema=None) as batch_op:
        batch_op.drop_index("ix_clips_camera_sha256")
        batch_op.create_index("ux_clips_live_camera_sha256", ["camera_id", "sha256"],
                              unique=True, sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    with op.batch_alter_table("clips", schema=None) as batch_op:
        batch_op.drop_index("ux_clips_live_camera_sha256")
        batch_op.create_index("ix_clips_camera_sha256", ["camera_id", "sha256"], unique=False)
