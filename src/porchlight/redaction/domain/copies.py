"""A redacted copy: a clip with bystanders' faces blurred, made by a job, previewed and
approved by the clip's owner before it goes anywhere.

The copy is a derived copy with its own data key and SHA-256. Its row keeps what is
needed to regenerate and check it: the parent clip's SHA-256, the options the owner
chose, the detector and its version, the engine's parameters and every box it covered.
It lives no longer than its clip: when the clip's key is shredded, so is the copy's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import Conflict, ValidationFailed
from porchlight.kernel.domain.events import DomainEvent
from porchlight.redaction.domain.options import RedactionOptions, options_from_params

MAX_OPEN_PER_CLIP = 3  # copies queued at once for one clip: a long job each
LOW_CONFIDENCE_SHOWN = 6  # frames the owner is shown to check
TRACKS_SHOWN = 12  # faces the owner may pick to keep visible


class CopyStatus(enum.StrEnum):
    QUEUED = "queued"  # its job has not finished
    READY = "ready"  # made; the owner has not approved it
    APPROVED = "approved"  # the owner looked at it and may share or post it
    FAILED = "failed"
    PURGED = "purged"  # its key is gone (with its clip's, or the owner deleted it)


# A copy concerns its owner only: every event is a resident event (a commitment on the
# public log that the owner can open), named by owner_id.


@dataclass(frozen=True, kw_only=True)
class RedactionRequested(DomainEvent):
    kind: ClassVar[str] = "redaction.requested"
    copy_id: UUID
    clip_id: UUID
    owner_id: UUID


@dataclass(frozen=True, kw_only=True)
class RedactionFinished(DomainEvent):
    kind: ClassVar[str] = "redaction.finished"
    copy_id: UUID
    owner_id: UUID
    sha256: str
    parent_sha256: str
    faces: int  # tracks found


@dataclass(frozen=True, kw_only=True)
class RedactionFailed(DomainEvent):
    kind: ClassVar[str] = "redaction.failed"
    copy_id: UUID
    owner_id: UUID


@dataclass(frozen=True, kw_only=True)
class RedactionApproved(DomainEvent):
    kind: ClassVar[str] = "redaction.approved"
    copy_id: UUID
    owner_id: UUID


@dataclass(frozen=True, kw_only=True)
class RedactedCopyShredded(DomainEvent):
    """The copy's key is gone; the job this asks for deletes its bytes."""

    kind: ClassVar[str] = "redaction.shredded"
    copy_id: UUID
    owner_id: UUID
    reason: str


@dataclass(eq=False)
class RedactedCopy(Entity):
    id: UUID
    clip_id: UUID
    owner_id: UUID
    parent_sha256: str
    options: dict[str, Any]  # RedactionOptions.params()
    status: str
    created_at: datetime
    expires_at: datetime  # the clip's: a copy never outlives its clip
    sha256: str | None = None
    size_bytes: int | None = None
    object_key: str | None = None
    wrapped_key: bytes | None = None
    detector: str | None = None
    detector_version: str | None = None
    provenance: dict[str, Any] | None = None  # engine parameters, tracks and their boxes
    low_confidence: list[dict[str, Any]] | None = None  # [{frame, time, score}]
    snapshots: bytes | None = None  # sealed JPEGs: those frames, and each face found
    failure: str | None = None
    finished_at: datetime | None = None
    approved_at: datetime | None = None
    purged_at: datetime | None = None

    @classmethod
    def request(cls, *, id: UUID, clip_id: UUID, owner_id: UUID, parent_sha256: str,
                options: RedactionOptions, now: datetime, expires_at: datetime,
                clip_duration: float, frame: tuple[int, int] | None = None,
                by_owner: bool = True) -> RedactedCopy:
        """``by_owner``: the owner asked (else an operator's command, with no actor)."""
        check_options(options, clip_duration, frame)
        copy = cls(id=id, clip_id=clip_id, owner_id=owner_id, parent_sha256=parent_sha256,
                   options=options.params(), status=CopyStatus.QUEUED.value, created_at=now,
                   expires_at=expires_at)
        copy.record(RedactionRequested(actor_id=owner_id if by_owner else None, copy_id=id,
                                       clip_id=clip_id, owner_id=owner_id))
        return copy

    @property
    def state(self) -> CopyStatus:
        return CopyStatus(self.status)

    @property
    def redaction_options(self) -> RedactionOptions:
        return options_from_params(self.options)

    @property
    def is_readable(self) -> bool:
        return self.wrapped_key is not None and self.state in (CopyStatus.READY,
                                                                CopyStatus.APPROVED)

    def covers(self, start: float, end: float) -> bool:
        """Whether the copy holds the clip's seconds [start, end]."""
        own_start, own_end = self.options.get("start"), self.options.get("end")
        return ((own_start is None or own_start <= start + 1e-6)
                and (own_end is None or own_end >= end - 1e-6))

    @property
    def offset(self) -> float:
        """Where the copy starts in its clip, in seconds."""
        return float(self.options.get("start") or 0.0)

    def finish(self, *, now: datetime, sha256: str, size_bytes: int, object_key: str,
               wrapped_key: bytes, detector: str, detector_version: str,
               provenance: dict[str, Any], low_confidence: list[dict[str, Any]],
               snapshots: bytes | None, faces: int) -> None:
        if self.state is not CopyStatus.QUEUED:
            raise Conflict("this copy is already finished")
        self.status = CopyStatus.READY.value
        self.sha256, self.size_bytes, self.object_key = sha256, size_bytes, object_key
        self.wrapped_key, self.detector, self.detector_version = (wrapped_key, detector,
                                                                  detector_version)
        self.provenance, self.low_confidence, self.snapshots = (provenance, low_confidence,
                                                                snapshots)
        self.finished_at = now
        self.record(RedactionFinished(actor_id=None, copy_id=self.id, owner_id=self.owner_id,
                                      sha256=sha256, parent_sha256=self.parent_sha256,
                                      faces=faces))

    def fail(self, *, now: datetime, reason: str) -> None:
        if self.state is not CopyStatus.QUEUED:
            return
        self.status, self.failure, self.finished_at = CopyStatus.FAILED.value, reason[:200], now
        self.record(RedactionFailed(actor_id=None, copy_id=self.id, owner_id=self.owner_id))

    def approve(self, *, now: datetime, by: UUID) -> None:
        if by != self.owner_id:
            raise Conflict("only the clip's owner approves its copies")
        if self.state is CopyStatus.APPROVED:
            return
        if self.state is not CopyStatus.READY:
            raise Conflict("this copy is not ready to approve")
        self.status, self.approved_at = CopyStatus.APPROVED.value, now
        self.record(RedactionApproved(actor_id=by, copy_id=self.id, owner_id=self.owner_id))

    def shred(self, *, now: datetime, reason: str, actor_id: UUID | None) -> bool:
        """Destroy the copy's key (and its sealed snapshots); its bytes go in a job."""
        if self.state is CopyStatus.PURGED:
            return False
        had_bytes = self.object_key is not None
        self.status, self.wrapped_key, self.snapshots = CopyStatus.PURGED.value, None, None
        self.purged_at = now
        self.record(RedactedCopyShredded(actor_id=actor_id, copy_id=self.id,
                                         owner_id=self.owner_id, reason=reason))
        return had_bytes


def check_options(options: RedactionOptions, clip_duration: float,
                  frame: tuple[int, int] | None = None) -> None:
    """The options make sense for this clip: the part kept lies within it, each extra box
    lies within the part kept (its times count from the copy's start) and the frame."""
    start = 0.0 if options.start is None else options.start
    end = clip_duration if options.end is None else options.end
    if start < 0 or end > clip_duration + 0.5 or end - start < 0.5:
        raise ValidationFailed(f"the part to keep must lie within the clip (0 to "
                               f"{clip_duration:.1f} s) and last at least half a second",
                               field="end")
    if not 0 <= options.margin <= 1:
        raise ValidationFailed("the margin must be between 0 and 1", field="margin")
    if len(options.extra_boxes) > 20:
        raise ValidationFailed("at most 20 extra boxes", field="boxes")
    for box in options.extra_boxes:
        if box.end <= box.start or box.rect.w <= 0 or box.rect.h <= 0 or min(
                box.rect.x, box.rect.y) < 0:
            raise ValidationFailed("each box needs a start before its end and a positive "
                                   "width and height", field="boxes")
        if box.start >= end - start:
            raise ValidationFailed(f"a box must start within the copy (0 to "
                                   f"{end - start:.1f} s)", field="boxes")
        if frame is not None and (box.rect.x + box.rect.w > frame[0]
                                  or box.rect.y + box.rect.h > frame[1]):
            raise ValidationFailed(f"a box must lie within the {frame[0]} by {frame[1]} "
                                   "picture", field="boxes")
    if len(options.keep_visible) > 50:
        raise ValidationFailed("too many faces kept visible", field="keep")
