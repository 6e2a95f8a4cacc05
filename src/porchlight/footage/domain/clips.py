"""Clips: a camera's recordings, encrypted at rest, gone when their retention ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID

from porchlight.footage.domain.cameras import Camera
from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import ValidationFailed
from porchlight.kernel.domain.events import DomainEvent

CLOCK_SKEW_ALLOWED = timedelta(minutes=5)


@dataclass(frozen=True, kw_only=True)
class ClipUploaded(DomainEvent):
    """A clip arrived. The public log commits to its bytes without naming its SHA-256:

    ``sha256_commitment`` is an HMAC of the SHA-256 under a key derived from the clip's
    own data key (``footage.services.library.audit_commitment``). An agency holds the SHA-256 of
    every clip shared with it (evidence names its source); with the plain hash here it
    could find this entry, then the camera and its owner's pseudonym, and so everything
    else that pseudonym did. With the commitment, only someone holding the data key (the
    server, for its owner) can tie the two, and shredding the key at retention unties
    them for good.

    Version 2. Version 1 (entries written before 2026-11-27) carried ``sha256``, the
    plain hash, in place of ``sha256_commitment``; those entries stay as they were, as
    every entry of an append-only log must.
    """

    kind: ClassVar[str] = "clip.uploaded"
    version: ClassVar[int] = 2
    clip_id: UUID
    camera_id: UUID
    sha256_commitment: str
    size_bytes: int
    owner_id: UUID | None = None  # who may open the entry (a resident event: a commitment)


@dataclass(frozen=True, kw_only=True)
class ClipViewed(DomainEvent):
    kind: ClassVar[str] = "clip.viewed"
    clip_id: UUID


@dataclass(frozen=True, kw_only=True)
class ClipAccessDenied(DomainEvent):
    kind: ClassVar[str] = "clip.access_denied"
    clip_id: UUID | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class ClipKeyShredded(DomainEvent):
    kind: ClassVar[str] = "clip.key_shredded"
    clip_id: UUID
    reason: str
    owner_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class ClipPurged(DomainEvent):
    kind: ClassVar[str] = "clip.purged"
    clip_id: UUID
    camera_id: UUID
    reason: str
    owner_id: UUID | None = None


@dataclass(eq=False)
class Clip(Entity):
    id: UUID
    camera_id: UUID
    owner_id: UUID
    recorded_at: datetime
    received_at: datetime
    expires_at: datetime
    sha256: str
    size_bytes: int
    container: str
    video_codec: str
    audio_codec: str | None
    width: int
    height: int
    frame_rate: float
    duration_seconds: float
    rotation: int
    object_key: str
    poster_key: str | None
    wrapped_key: bytes | None
    deleted_at: datetime | None = None
    deletion_reason: str | None = None

    @property
    def ends_at(self) -> datetime:
        return self.recorded_at + timedelta(seconds=self.duration_seconds)

    @property
    def is_readable(self) -> bool:
        return self.wrapped_key is not None and self.deleted_at is None

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.recorded_at < end and self.ends_at > start

    def shred(self, *, reason: str, actor_id: UUID | None) -> bool:
        """Destroy the wrapped data key: from here on the bytes are unreadable noise."""
        if self.wrapped_key is None:
            return False
        self.wrapped_key = None
        self.record(ClipKeyShredded(actor_id=actor_id, clip_id=self.id, reason=reason,
                                    owner_id=self.owner_id))
        return True

    def mark_purged(self, *, now: datetime, reason: str, actor_id: UUID | None) -> None:
        if self.deleted_at is not None:
            return
        self.deleted_at = now
        self.deletion_reason = reason
        self.record(ClipPurged(actor_id=actor_id, clip_id=self.id, camera_id=self.camera_id,
                               reason=reason, owner_id=self.owner_id))


def clip_expiry(camera: Camera, recorded_at: datetime) -> datetime:
    return recorded_at + timedelta(days=camera.retention_days)


def check_recorded_at(camera: Camera, recorded_at: datetime, now: datetime) -> None:
    """A clip must say when it was recorded: not in the future, not already past retention."""
    if recorded_at.tzinfo is None:
        raise ValidationFailed("recorded_at must include a time zone (e.g. 2026-11-02T08:00Z)")
    if recorded_at > now + CLOCK_SKEW_ALLOWED:
        raise ValidationFailed("recorded_at is in the future; check the camera's clock")
    if clip_expiry(camera, recorded_at) <= now:
        raise ValidationFailed(
            f"this recording is older than the camera's {camera.retention_days}-day retention"
        )
