"""Cameras: make the H3 index covering, so the delivery lookup never visits the table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COVER = ["h3_cell", "opted_in", "lat", "lon", "owner_id", "id"]


def upgrade() -> None:
    op.create_index("ix_cameras_h3_cover", "cameras", COVER)
    op.drop_index("ix_cameras_h3_cell", table_name="cameras")


def downgrade() -> None:
    op.create_index("ix_cameras_h3_cell", "cameras", ["h3_cell"])
    op.drop_index("ix_cameras_h3_cover", table_name="cameras")
