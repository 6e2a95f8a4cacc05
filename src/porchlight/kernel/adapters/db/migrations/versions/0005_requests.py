"""Video requests, deliveries, consents (terms immutable in the database) and evidence.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.kernel.adapters.db.ddl import make_immutable_columns
from porchlight.kernel.adapters.db.types import StrEnumType, UTCDateTime
from porchlight.requests.domain.consent import DeliveryStatus
from porchlight.requests.domain.requests import IncidentType, RequestStatus

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "video_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("case_number", sa.String(length=40), nullable=False),
        sa.Column("incident_type", StrEnumType(IncidentType), nullable=False),
        sa.Column("incident_other", sa.String(length=120), nullable=True),
        sa.Column("incident_time", UTCDateTime(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("radius_m", sa.Integer(), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("window_end", UTCDateTime(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("sharing_plan", sa.JSON(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("status", StrEnumType(RequestStatus), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deadline", UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_video_requests_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["accounts.id"], name=op.f("fk_video_requests_approved_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_video_requests_created_by_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_video_requests")),
    )
    with op.batch_alter_table("video_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_video_requests_agency_id"), ["agency_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_video_requests_status"), ["status"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("camera_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("status", StrEnumType(DeliveryStatus), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("notified_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["video_requests.id"],
            name=op.f("fk_deliveries_request_id_video_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["accounts.id"], name=op.f("fk_deliveries_resident_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("request_id", "resident_id", name="one_per_resident"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deliveries_resident_id"), ["resident_id"], unique=False
        )

    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("clip_ids", sa.JSON(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("share_contact", sa.Boolean(), nullable=False),
        sa.Column("disclosure_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("deletion_requested_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_consents_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"], name=op.f("fk_consents_delivery_id_deliveries")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["video_requests.id"],
            name=op.f("fk_consents_request_id_video_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["accounts.id"], name=op.f("fk_consents_resident_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_consents_delivery_id")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_consents_resident_id"), ["resident_id"], unique=False)

    op.create_table(
        "evidence_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("source_clip_id", sa.Uuid(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("container", sa.String(length=16), nullable=False),
        sa.Column("start_offset_seconds", sa.Float(), nullable=False),
        sa.Column("end_offset_seconds", sa.Float(), nullable=False),
        sa.Column("covers_from", UTCDateTime(), nullable=False),
        sa.Column("covers_to", UTCDateTime(), nullable=False),
        sa.Column("object_key", sa.String(length=200), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("first_opened_at", UTCDateTime(), nullable=True),
        sa.Column("purged_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_evidence_items_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"], name=op.f("fk_evidence_items_consent_id_consents")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["video_requests.id"],
            name=op.f("fk_evidence_items_request_id_video_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["source_clip_id"], ["clips.id"], name=op.f("fk_evidence_items_source_clip_id_clips")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_items")),
        sa.UniqueConstraint("consent_id", "source_clip_id", name="one_per_clip"),
        sa.UniqueConstraint("object_key", name=op.f("uq_evidence_items_object_key")),
    )
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_items_consent_id"), ["consent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_evidence_items_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_evidence_items_request_id"), ["request_id"], unique=False
        )
    make_immutable_columns(
        "consents",
        [
            "id",
            "delivery_id",
            "request_id",
            "resident_id",
            "agency_id",
            "clip_ids",
            "scope",
            "share_contact",
            "disclosure_sha256",
            "created_at",
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_items_request_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_items_expires_at"))
        batch_op.drop_index(batch_op.f("ix_evidence_items_consent_id"))

    op.drop_table("evidence_items")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_resident_id"))
        batch_op.drop_index(batch_op.f("ix_consents_request_id"))

    op.drop_table("consents")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_resident_id"))

    op.drop_table("deliveries")
    with op.batch_alter_table("video_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_video_requests_status"))
        batch_op.drop_index(batch_op.f("ix_video_requests_agency_id"))

    op.drop_table("video_requests")
