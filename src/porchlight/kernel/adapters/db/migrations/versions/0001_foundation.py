"""Foundation: agencies, accounts, cameras and the append-only audit_events table.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.accounts.domain.accounts import AccountKind, StaffRole
from porchlight.accounts.domain.agencies import AgencyKind
from porchlight.kernel.adapters.db.ddl import make_append_only
from porchlight.kernel.adapters.db.types import StrEnumType, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", StrEnumType(AgencyKind), nullable=False),
        sa.Column("center_lat", sa.Float(), nullable=False),
        sa.Column("center_lon", sa.Float(), nullable=False),
        sa.Column("radius_m", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("radius_m > 0", name=op.f("ck_agencies_radius_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("kind", StrEnumType(AccountKind), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("staff_role", StrEnumType(StaffRole), nullable=True),
        sa.Column("home_lat", sa.Float(), nullable=True),
        sa.Column("home_lon", sa.Float(), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("disabled_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'staff') = (agency_id IS NOT NULL AND staff_role IS NOT NULL)",
            name=op.f("ck_accounts_staff_has_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_accounts_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("email", name=op.f("uq_accounts_email")),
    )
    op.create_index(op.f("ix_accounts_agency_id"), "accounts", ["agency_id"])
    op.create_table(
        "cameras",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "retention_days IN (7, 30, 60, 180)", name=op.f("ck_cameras_retention_choice")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["accounts.id"], name=op.f("fk_cameras_owner_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
    )
    op.create_index("ix_cameras_h3_cell", "cameras", ["h3_cell"])
    op.create_index(op.f("ix_cameras_owner_id"), "cameras", ["owner_id"])
    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    make_append_only("audit_events")


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_index(op.f("ix_cameras_owner_id"), table_name="cameras")
    op.drop_index("ix_cameras_h3_cell", table_name="cameras")
    op.drop_table("cameras")
    op.drop_index(op.f("ix_accounts_agency_id"), table_name="accounts")
    op.drop_table("accounts")
    op.drop_table("agencies")
