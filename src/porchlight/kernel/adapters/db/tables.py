"""Table definitions. Shapes here are storage; the domain's dataclasses are mapped onto them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)

from porchlight.accounts.domain.accounts import AccountKind, StaffRole
from porchlight.accounts.domain.agencies import AgencyKind
from porchlight.accounts.domain.auth import TokenPurpose
from porchlight.custody.domain.demands import Coverage, DemandStatus, DemandType
from porchlight.feed.domain.moderation import Reason, Resolution
from porchlight.feed.domain.posts import Category, PostStatus
from porchlight.jobs.domain.jobs import JobState
from porchlight.kernel.adapters.db.types import StrEnumType, UTCDateTime
from porchlight.requests.domain.consent import DeliveryStatus
from porchlight.requests.domain.requests import IncidentType, RequestStatus

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

agencies = Table(
    "agencies",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("kind", StrEnumType(AgencyKind), nullable=False),
    Column("center_lat", Float, nullable=False),
    Column("center_lon", Float, nullable=False),
    Column("radius_m", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("verified_at", UTCDateTime, nullable=True),
    CheckConstraint("radius_m > 0", name="radius_positive"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("display_name", String(80), nullable=False),
    Column("kind", StrEnumType(AccountKind), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("agency_id", Uuid, ForeignKey("agencies.id"), nullable=True, index=True),
    Column("staff_role", StrEnumType(StaffRole), nullable=True),
    Column("home_lat", Float, nullable=True),
    Column("home_lon", Float, nullable=True),
    Column("password_hash", String(255), nullable=True),
    Column("disabled_at", UTCDateTime, nullable=True),
    Column("email_verified_at", UTCDateTime, nullable=True),
    Column("postal_address_sealed", LargeBinary, nullable=True),
    Column("totp_secret_sealed", LargeBinary, nullable=True),
    Column("totp_enabled_at", UTCDateTime, nullable=True),
    Column("totp_last_step", BigInteger, nullable=True),
    Column("failed_signins", JSON, nullable=False, default=list),
    Column("locked_at", UTCDateTime, nullable=True),
    CheckConstraint(
        "(kind = 'staff') = (agency_id IS NOT NULL AND staff_role IS NOT NULL)",
        name="staff_has_agency",
    ),
)

cameras = Table(
    "cameras",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("owner_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(60), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("h3_cell", BigInteger, nullable=False),
    Column("opted_in", Boolean, nullable=False, default=False),
    Column("retention_days", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("retention_days IN (7, 30, 60, 180)", name="retention_choice"),
    # Covering: the delivery lookup reads only these, so it can stay inside the index.
    Index("ix_cameras_h3_cover", "h3_cell", "opted_in", "lat", "lon", "owner_id", "id"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("kind", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("actor_id", Uuid, nullable=True),
    Column("payload", JSON, nullable=False),
    # How often one account did one thing lately (the reach preview's rate limit).
    Index("ix_audit_events_actor_kind_time", "actor_id", "kind", "occurred_at"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("csrf_secret", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("mfa_verified_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("end_reason", String(32), nullable=True),
)

one_time_tokens = Table(
    "one_time_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("purpose", StrEnumType(TokenPurpose), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(60), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

device_tokens = Table(
    "device_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("camera_id", Uuid, ForeignKey("cameras.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

clips = Table(
    "clips",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("camera_id", Uuid, ForeignKey("cameras.id"), nullable=False),
    Column("owner_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("container", String(16), nullable=False),
    Column("video_codec", String(16), nullable=False),
    Column("audio_codec", String(16), nullable=True),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("frame_rate", Float, nullable=False),
    Column("duration_seconds", Float, nullable=False),
    Column("rotation", Integer, nullable=False),
    Column("object_key", String(200), nullable=False, unique=True),
    Column("poster_key", String(200), nullable=True),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("deleted_at", UTCDateTime, nullable=True),
    Column("deletion_reason", String(32), nullable=True),
    Index("ix_clips_camera_recorded", "camera_id", "recorded_at"),
    Index("ix_clips_expires_at", "expires_at"),
    # One live clip per camera and bytes: a retry, even one racing the first upload, gets
    # the existing clip (migration 0007). Deleted clips are left out.
    Index("ux_clips_live_camera_sha256", "camera_id", "sha256", unique=True,
          sqlite_where=text("deleted_at IS NULL"), postgresql_where=text("deleted_at IS NULL")),
)

video_requests = Table(
    "video_requests",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("agency_id", Uuid, ForeignKey("agencies.id"), nullable=False, index=True),
    Column("created_by", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("case_number", String(40), nullable=False),
    Column("incident_type", StrEnumType(IncidentType), nullable=False),
    Column("incident_other", String(120), nullable=True),
    Column("incident_time", UTCDateTime, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("radius_m", Integer, nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column("description", Text, nullable=False),
    Column("retention_days", Integer, nullable=False),
    Column("sharing_plan", JSON, nullable=False),
    Column("contact", String(200), nullable=False),
    Column("status", StrEnumType(RequestStatus), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deadline", UTCDateTime, nullable=True),
    Column("approved_by", Uuid, ForeignKey("accounts.id"), nullable=True),
    Column("approved_at", UTCDateTime, nullable=True),
    Column("justification", Text, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("rejected_by", Uuid, ForeignKey("accounts.id"), nullable=True),
    Column("rejection_reason", Text, nullable=True),
    Column("rejection_nonce", String(32), nullable=True),
    Column("case_closed_at", UTCDateTime, nullable=True),
    Column("case_closed_by", Uuid, ForeignKey("accounts.id"), nullable=True),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("request_id", Uuid, ForeignKey("video_requests.id"), nullable=False),
    Column("resident_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("camera_ids", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", StrEnumType(DeliveryStatus), nullable=False),
    Column("answered_at", UTCDateTime, nullable=True),
    Column("notified_at", UTCDateTime, nullable=True),
    UniqueConstraint("request_id", "resident_id", name="one_per_resident"),
)

consents = Table(
    "consents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("delivery_id", Uuid, ForeignKey("deliveries.id"), nullable=False, unique=True),
    Column("request_id", Uuid, ForeignKey("video_requests.id"), nullable=False, index=True),
    Column("resident_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("agency_id", Uuid, ForeignKey("agencies.id"), nullable=False),
    Column("clip_ids", JSON, nullable=False),
    Column("scope", String(32), nullable=False),
    Column("share_contact", Boolean, nullable=False),
    Column("disclosure_sha256", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("deletion_requested_at", UTCDateTime, nullable=True),
    # clip id -> the owner's approved redacted copy shared instead of the clip (0019)
    Column("blurred_copies", JSON, nullable=True),
)

# A warrant, subpoena, court order or emergency request a platform admin recorded for an
# agency (custody/domain/demands.py); its terms never change (migration 0017's triggers).
legal_demands = Table(
    "legal_demands",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("demand_type", StrEnumType(DemandType), nullable=False),
    Column("agency_id", Uuid, ForeignKey("agencies.id"), nullable=False, index=True),
    Column("court", String(200), nullable=True),
    Column("docket", String(80), nullable=True),
    Column("coverage", StrEnumType(Coverage), nullable=False),
    Column("account_ids", JSON, nullable=False),
    Column("camera_ids", JSON, nullable=False),
    Column("covers_from", UTCDateTime, nullable=True),
    Column("covers_to", UTCDateTime, nullable=True),
    Column("notice_delayed_until", UTCDateTime, nullable=True),
    Column("retention_days", Integer, nullable=False),
    Column("terms_nonce", String(32), nullable=False),
    Column("recorded_by", Uuid, ForeignKey("accounts.id"), nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("status", StrEnumType(DemandStatus), nullable=False),
    Column("fulfilled_by", Uuid, ForeignKey("accounts.id"), nullable=True),
    Column("fulfilled_at", UTCDateTime, nullable=True),
    Column("withdrawn_by", Uuid, ForeignKey("accounts.id"), nullable=True),
    Column("withdrawn_at", UTCDateTime, nullable=True),
    Column("owner_ids", JSON, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("clips_disclosed", Integer, nullable=False),
    Column("account_records", JSON, nullable=True),
    Column("documentation", Text, nullable=True),
    Column("documentation_nonce", String(32), nullable=True),
    Column("documented_by", Uuid, ForeignKey("accounts.id"), nullable=True),
    Column("documented_at", UTCDateTime, nullable=True),
    Column("notice_sent_at", UTCDateTime, nullable=True),
)

evidence_items = Table(
    "evidence_items",
    metadata,
    Column("id", Uuid, primary_key=True),
    # an item has a consent and a request, or else a legal demand (migration 0017)
    Column("consent_id", Uuid, ForeignKey("consents.id"), nullable=True, index=True),
    Column("request_id", Uuid, ForeignKey("video_requests.id"), nullable=True, index=True),
    Column("agency_id", Uuid, ForeignKey("agencies.id"), nullable=False),
    Column("source_clip_id", Uuid, ForeignKey("clips.id"), nullable=False),
    Column("source_sha256", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("container", String(16), nullable=False),
    Column("start_offset_seconds", Float, nullable=False),
    Column("end_offset_seconds", Float, nullable=False),
    Column("covers_from", UTCDateTime, nullable=False),
    Column("covers_to", UTCDateTime, nullable=False),
    Column("object_key", String(200), nullable=False, unique=True),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("first_opened_at", UTCDateTime, nullable=True),
    Column("purged_at", UTCDateTime, nullable=True),
    # a re-shared copy (custody/domain/reshare.py): the item it was copied from
    Column("parent_id", Uuid, ForeignKey("evidence_items.id"), nullable=True, index=True),
    # the holder's answer to the owner's deletion request (custody/domain/deletion.py)
    Column("deletion_answer", String(16), nullable=True),
    Column("deletion_answered_at", UTCDateTime, nullable=True),
    Column("deletion_answered_role", String(32), nullable=True),
    Column("deletion_hold_id", Uuid, nullable=True),  # a legal_holds id (no FK: see 0018)
    # one item derived per consented clip; re-shared copies of it are other agencies' items
    Index("one_per_clip", "consent_id", "source_clip_id", unique=True,
          sqlite_where=text("parent_id IS NULL"), postgresql_where=text("parent_id IS NULL")),
    # delivered under a legal demand (custody/domain/demands.py): one item per covered clip
    Column("legal_demand_id", Uuid, ForeignKey("legal_demands.id"), nullable=True),
    Index("one_per_demanded_clip", "legal_demand_id", "source_clip_id", unique=True,
          sqlite_where=text("legal_demand_id IS NOT NULL"),
          postgresql_where=text("legal_demand_id IS NOT NULL")),
    # made from the owner's redacted copy rather than the clip itself (0019)
    Column("redacted_copy_id", Uuid, nullable=True),
)

# A clip with bystanders' faces covered (redaction/domain/copies.py): its own data key and
# SHA-256, and what made it (options, detector, boxes) so it can be regenerated and checked.
redacted_copies = Table(
    "redacted_copies",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("clip_id", Uuid, ForeignKey("clips.id"), nullable=False, index=True),
    Column("owner_id", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("parent_sha256", String(64), nullable=False),
    Column("options", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("sha256", String(64), nullable=True),
    Column("size_bytes", BigInteger, nullable=True),
    Column("object_key", String(200), nullable=True, unique=True),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("detector", String(40), nullable=True),
    Column("detector_version", String(200), nullable=True),
    Column("provenance", JSON, nullable=True),
    Column("low_confidence", JSON, nullable=True),
    Column("snapshots", LargeBinary, nullable=True),
    Column("failure", String(200), nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("approved_at", UTCDateTime, nullable=True),
    Column("purged_at", UTCDateTime, nullable=True),
)

# One row per re-share of an evidence item (custody/domain/reshare.py); the copy it makes
# is the evidence item with the same id. Its terms never change and rows are never deleted
# (migration 0016's triggers).
evidence_shares = Table(
    "evidence_shares",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("evidence_id", Uuid, ForeignKey("evidence_items.id"), nullable=False, index=True),
    Column("consent_id", Uuid, ForeignKey("consents.id"), nullable=False, index=True),
    Column("request_id", Uuid, ForeignKey("video_requests.id"), nullable=False),
    Column("source_clip_id", Uuid, ForeignKey("clips.id"), nullable=False),
    Column("from_agency_id", Uuid, ForeignKey("agencies.id"), nullable=False),
    Column("to_agency_id", Uuid, ForeignKey("agencies.id"), nullable=False),
    Column("shared_by", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("shared_by_role", String(32), nullable=False),
    Column("shared_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("reason_nonce", String(32), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# A supervisor keeps a case's evidence past its retention (custody/domain/holds.py). The
# terms of a hold never change (migration 0014's triggers); only its release is set, once.
legal_holds = Table(
    "legal_holds",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("request_id", Uuid, ForeignKey("video_requests.id"), nullable=False, index=True),
    Column("agency_id", Uuid, ForeignKey("agencies.id"), nullable=False),
    Column("set_by", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("set_by_role", String(32), nullable=False),
    Column("set_at", UTCDateTime, nullable=False),
    Column("until", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("reason_nonce", String(32), nullable=False),
    Column("released_at", UTCDateTime, nullable=True),
    Column("released_by", Uuid, ForeignKey("accounts.id"), nullable=True),
    Column("end_cause", String(16), nullable=True),
)

# Work that runs after a commit (jobs/domain/jobs.py): written in the same transaction as the
# change that calls for it, claimed by a worker for a lease, retried with backoff.
jobs = Table(
    "jobs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("args", JSON, nullable=False),
    Column("key", String(200), nullable=False, unique=True),
    Column("state", StrEnumType(JobState), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("run_after", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("progress_done", Integer, nullable=False),
    Column("progress_total", Integer, nullable=True),
    Column("error", String(200), nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    # what a worker or the sweeper looks for: unfinished jobs by when they are due
    Index("ix_jobs_open", "state", "run_after",
          sqlite_where=text("state IN ('pending', 'running')"),
          postgresql_where=text("state IN ('pending', 'running')")),
)

# ---- the Neighbors feed (feed/domain): migration 0019 ------------------------------------

# A post keeps its H3 resolution-8 cell and that cell's centre, never a home's point.
posts = Table(
    "posts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("author_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("agency_id", Uuid, ForeignKey("agencies.id"), nullable=True),
    Column("category", StrEnumType(Category), nullable=False),
    Column("title", String(120), nullable=False),
    Column("description", Text, nullable=False),
    Column("cell", BigInteger, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("area_radius_m", Integer, nullable=True),
    Column("status", StrEnumType(PostStatus), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("source_clip_id", Uuid, ForeignKey("clips.id"), nullable=True, index=True),
    Column("source_sha256", String(64), nullable=True),
    Column("trim_start", Float, nullable=True),
    Column("trim_end", Float, nullable=True),
    Column("blur", Boolean, nullable=False),
    Column("media_key", String(200), nullable=True),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("media_sha256", String(64), nullable=True),
    Column("media_size", BigInteger, nullable=True),
    Column("media_container", String(16), nullable=True),
    Column("redaction", JSON, nullable=True),
    Column("failure", String(64), nullable=True),
    Column("purged_at", UTCDateTime, nullable=True),
    Column("purge_reason", String(32), nullable=True),
    Column("removed_at", UTCDateTime, nullable=True),
    Column("removed_by", Uuid, ForeignKey("accounts.id"), nullable=True),
    Column("removed_reason", String(32), nullable=True),
    Column("removed_note", Text, nullable=True),
    # the retention sweep: live posts by expiry
    Index("ix_posts_live_expires_at", "expires_at",
          sqlite_where=text("purged_at IS NULL"), postgresql_where=text("purged_at IS NULL")),
)

# The feed's index: one row per (cell, post) while the post is shown (published, not
# removed, not purged). A resident's post has one cell; an agency's, every cell of its
# area. The feed reads the newest rows of each cell it covers from ix_post_cells_feed
# (feed/adapters/feed_query.py): category and expiry are in the index, so it is the
# only thing read until the page's posts are fetched by id.
post_cells = Table(
    "post_cells",
    metadata,
    Column("cell", BigInteger, primary_key=True),
    Column("post_id", Uuid, ForeignKey("posts.id"), primary_key=True, index=True),
    Column("published_at", UTCDateTime, nullable=False),
    Column("category", String(32), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_post_cells_feed", "cell", "published_at", "post_id", "category", "expires_at"),
)

comments = Table(
    "comments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("post_id", Uuid, ForeignKey("posts.id"), nullable=False),
    Column("author_id", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("removed_at", UTCDateTime, nullable=True),
    Column("removed_by", Uuid, ForeignKey("accounts.id"), nullable=True),
    Column("removed_reason", String(32), nullable=True),
    Column("removed_note", Text, nullable=True),
    Index("ix_comments_post_created", "post_id", "created_at"),
)

reports = Table(
    "reports",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("post_id", Uuid, ForeignKey("posts.id"), nullable=False, index=True),
    Column("comment_id", Uuid, ForeignKey("comments.id"), nullable=True),
    Column("reporter_id", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("reason", StrEnumType(Reason), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolved_by", Uuid, ForeignKey("accounts.id"), nullable=True),
    Column("resolution", StrEnumType(Resolution), nullable=True),
    # the moderation queue: open reports, oldest first
    Index("ix_reports_open", "created_at",
          sqlite_where=text("resolved_at IS NULL"), postgresql_where=text("resolved_at IS NULL")),
)
