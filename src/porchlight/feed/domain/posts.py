"""Posts on the Neighbors feed: what a resident (or a verified agency) shares with people
nearby, and the rules that keep the feed from becoming a surveillance archive.

* Coarse location: a post carries only an H3 resolution-8 cell and that cell's centre
  (about half a kilometre across); the author's home point is never stored with it, so
  every home in the cell gives the same shown point.
* Media is a derived copy (trimmed, faces blurred unless the author turned it off),
  prepared by a job and previewed by the author before anyone else sees it.
* Nothing outlives its retention: a post expires with its clip's camera retention
  (default 60 days), never after the clip itself, sooner if the author chose so.
* The author is never named to other residents; an agency's post names the agency and is
  marked "public safety".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar
from uuid import UUID

from porchlight.feed.domain.moderation import Removable, strip_controls
from porchlight.kernel.domain.errors import Conflict, ValidationFailed
from porchlight.kernel.domain.events import INTERNAL, DomainEvent

TITLE_MIN, TITLE_MAX = 3, 120
DESCRIPTION_MAX = 4000
DEFAULT_RETENTION_DAYS = 60  # a text post's, and a clip post's whose camera says nothing
EXPIRY_CHOICES_DAYS = (1, 7, 30, 60, 180)  # the author's choice; never past the clip's
MIN_RADIUS_M, MAX_RADIUS_M, DEFAULT_RADIUS_M = 500, 5000, 1000
MAX_CLIP_SECONDS = 120.0  # the longest part of a clip a post may show
AGENCY_MIN_RADIUS_M, AGENCY_MAX_RADIUS_M = 250, 10_000


class Category(enum.StrEnum):
    CRIME = "crime"
    SAFETY = "safety"
    SUSPICIOUS = "suspicious"
    PET = "pet"
    UNEXPECTED = "unexpected"
    COMMUNITY = "community"

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    Category.CRIME: "Crime",
    Category.SAFETY: "Safety",
    Category.SUSPICIOUS: "Suspicious activity",
    Category.PET: "Lost or found pet",
    Category.UNEXPECTED: "Unexpected activity",
    Category.COMMUNITY: "Community",
}


class PostStatus(enum.StrEnum):
    PREPARING = "preparing"  # the media job has not finished yet
    DRAFT = "draft"  # ready: the author previews it, then publishes
    FAILED = "failed"  # the media could not be made (see failure)
    PUBLISHED = "published"


# ---- events ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PostDrafted(DomainEvent):
    """A resident started a post. With a clip, the event asks for the media job."""

    kind: ClassVar[str] = "post.drafted"
    post_id: UUID
    category: str
    with_clip: bool
    blur: bool
    owner_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class PostMediaPrepared(DomainEvent):
    kind: ClassVar[str] = "post.media_prepared"
    post_id: UUID
    redacted: bool
    source_sha256: str
    sha256: str
    owner_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class PostMediaFailed(DomainEvent):
    kind: ClassVar[str] = "post.media_failed"
    post_id: UUID
    reason: str
    owner_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class PostPublished(DomainEvent):
    kind: ClassVar[str] = "post.published"
    post_id: UUID
    category: str
    owner_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class PublicSafetyPostPublished(DomainEvent):
    """An agency's post: public interest, readable in the log (its staff member committed)."""

    kind: ClassVar[str] = "post.public_safety_published"
    post_id: UUID
    agency_id: UUID
    category: str
    cells: int
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class PostWithdrawn(DomainEvent):
    """The author took the post down (its media is shredded as at expiry)."""

    kind: ClassVar[str] = "post.withdrawn"
    post_id: UUID
    owner_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class PostKeyShredded(DomainEvent):
    """The post's media key is destroyed: it is unreadable from this commit on. The event
    asks for the ``post.purge`` job, which deletes the bytes."""

    kind: ClassVar[str] = "post.key_shredded"
    post_id: UUID
    reason: str
    owner_id: UUID | None = None
    media_key: str | None = field(default=None, metadata=INTERNAL)


@dataclass(frozen=True, kw_only=True)
class PostPurged(DomainEvent):
    kind: ClassVar[str] = "post.purged"
    post_id: UUID
    reason: str
    owner_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class PostMediaViewed(DomainEvent):
    """Someone started playing a post's video (its author's preview included)."""

    kind: ClassVar[str] = "post.media_viewed"
    post_id: UUID


@dataclass(frozen=True, kw_only=True)
class PostAccessDenied(DomainEvent):
    """A post's video was asked for by someone who may not see it (or it is gone)."""

    kind: ClassVar[str] = "post.access_denied"
    post_id: UUID
    reason: str


# ---- rules -----------------------------------------------------------------------------


def clean_title(text: str | None) -> str:
    text = " ".join(strip_controls(text).split())  # tabs and line breaks: spaces
    if not TITLE_MIN <= len(text) <= TITLE_MAX:
        raise ValidationFailed(f"the title must be {TITLE_MIN} to {TITLE_MAX} characters",
                               field="title")
    return text


def clean_description(text: str | None) -> str:
    text = strip_controls(text).strip()
    if len(text) > DESCRIPTION_MAX:
        raise ValidationFailed(f"the description must be at most {DESCRIPTION_MAX} "
                               "characters", field="description")
    return text


def check_radius(radius_m: int) -> int:
    if not MIN_RADIUS_M <= radius_m <= MAX_RADIUS_M:
        raise ValidationFailed(f"the radius must be {MIN_RADIUS_M} to {MAX_RADIUS_M} metres",
                               field="radius_m")
    return radius_m


def check_trim(start: float | None, end: float | None, duration: float
               ) -> tuple[float, float]:
    """The part of the clip the post shows: the whole clip by default, at most
    MAX_CLIP_SECONDS."""
    start = 0.0 if start is None else float(start)
    end = duration if end is None else min(float(end), duration)
    if start < 0 or start >= duration:
        raise ValidationFailed(f"the start must be between 0 and {duration:.1f} seconds",
                               field="start")
    if end <= start:
        raise ValidationFailed("the end must come after the start", field="end")
    if end - start > MAX_CLIP_SECONDS:
        raise ValidationFailed(f"a post shows at most {MAX_CLIP_SECONDS:.0f} seconds of a "
                               "clip", field="end")
    return start, end


def expiry(now: datetime, *, chosen_days: int | None, camera_days: int | None = None,
           clip_expires_at: datetime | None = None) -> datetime:
    """When a post expires: the author's choice, never later than the clip camera's
    retention counted from now, and never later than the clip itself."""
    if chosen_days is not None and chosen_days not in EXPIRY_CHOICES_DAYS:
        choices = ", ".join(str(d) for d in EXPIRY_CHOICES_DAYS)
        raise ValidationFailed(f"pick one of {choices} days", field="expires_in_days")
    limit = camera_days if camera_days is not None else DEFAULT_RETENTION_DAYS
    days = limit if chosen_days is None else min(chosen_days, limit)
    ends = now + timedelta(days=days)
    if clip_expires_at is not None:
        ends = min(ends, clip_expires_at)
    if ends <= now:
        raise ValidationFailed("this clip is about to be deleted: it cannot be posted",
                               field="clip_id")
    return ends


def coarse_expiry(expires_at: datetime) -> date:
    """The day a post is gone by, as shown to anyone (its author included): the precise
    expiry rounded up to the next UTC day boundary, so it is never earlier than the truth
    and does not give away when the clip was recorded (a clip post's expiry follows its
    clip's to the second). The precise moment stays internal, for purging."""
    moment = expires_at.astimezone(UTC)
    midnight = datetime.combine(moment.date(), time(), tzinfo=UTC)
    return (moment.date() if moment == midnight else moment.date() + timedelta(days=1))


@dataclass(frozen=True)
class FeedPage:
    """What to read: the cells, the page size, and the filters."""

    cells: tuple[int, ...]
    limit: int
    now: datetime  # rows that expired are left out
    since: datetime | None = None  # the window's start, if any
    before: tuple[datetime, UUID] | None = None  # the cursor: the last row of the page before
    category: str | None = None


@dataclass(frozen=True)
class Place:
    """Where a post is shown: an H3 resolution-8 cell and its centre (never a home)."""

    cell: int
    lat: float
    lon: float


@dataclass(frozen=True)
class ClipChoice:
    """The part of a clip a post is made from, as the author chose it."""

    clip_id: UUID
    source_sha256: str
    start: float
    end: float
    blur: bool


@dataclass(eq=False)
class Post(Removable):
    id: UUID
    author_id: UUID
    category: Category
    title: str
    description: str
    cell: int
    lat: float
    lon: float
    status: PostStatus
    created_at: datetime
    expires_at: datetime
    agency_id: UUID | None = None  # set: a public-safety post by this agency
    area_radius_m: int | None = None  # an agency post's area around (lat, lon)
    source_clip_id: UUID | None = None
    source_sha256: str | None = None
    trim_start: float | None = None
    trim_end: float | None = None
    blur: bool = False
    media_key: str | None = None
    wrapped_key: bytes | None = None
    media_sha256: str | None = None
    media_size: int | None = None
    media_container: str | None = None
    redaction: dict[str, Any] | None = None  # detector, version and parameters when blurred
    failure: str | None = None
    published_at: datetime | None = None
    purged_at: datetime | None = None
    purge_reason: str | None = None
    removed_at: datetime | None = None
    removed_by: UUID | None = None
    removed_reason: str | None = None
    removed_note: str | None = None

    @classmethod
    def draft(cls, *, post_id: UUID, author_id: UUID, category: Category, title: str,
              description: str, place: Place, now: datetime, expires_at: datetime,
              clip: ClipChoice | None = None) -> Post:
        post = cls(id=post_id, author_id=author_id, category=Category(category),
                   title=clean_title(title), description=clean_description(description),
                   cell=place.cell, lat=place.lat, lon=place.lon,
                   status=PostStatus.PREPARING if clip else PostStatus.DRAFT,
                   created_at=now, expires_at=expires_at)
        if clip is not None:
            post.source_clip_id, post.source_sha256 = clip.clip_id, clip.source_sha256
            post.trim_start, post.trim_end, post.blur = clip.start, clip.end, clip.blur
        post.record(PostDrafted(actor_id=author_id, post_id=post_id, category=post.category,
                                with_clip=clip is not None, blur=post.blur,
                                owner_id=author_id))
        return post

    @classmethod
    def public_safety(cls, *, post_id: UUID, author_id: UUID, agency_id: UUID,
                      category: Category, title: str, description: str, place: Place,
                      radius_m: int, cells: int, now: datetime, expires_at: datetime) -> Post:
        if not AGENCY_MIN_RADIUS_M <= radius_m <= AGENCY_MAX_RADIUS_M:
            raise ValidationFailed(f"the area's radius must be {AGENCY_MIN_RADIUS_M} to "
                                   f"{AGENCY_MAX_RADIUS_M} metres", field="radius_m")
        post = cls(id=post_id, author_id=author_id, category=Category(category),
                   title=clean_title(title), description=clean_description(description),
                   cell=place.cell, lat=place.lat, lon=place.lon,
                   status=PostStatus.PUBLISHED, created_at=now, expires_at=expires_at,
                   agency_id=agency_id, area_radius_m=radius_m, published_at=now)
        post.record(PublicSafetyPostPublished(
            actor_id=author_id, post_id=post_id, agency_id=agency_id, category=post.category,
            cells=cells, expires_at=expires_at))
        return post

    # ---- what it is ------------------------------------------------------------------

    @property
    def is_public_safety(self) -> bool:
        return self.agency_id is not None

    @property
    def has_media(self) -> bool:
        return self.source_clip_id is not None

    @property
    def expires_on(self) -> date:
        """The coarse expiry others are shown (``coarse_expiry``)."""
        return coarse_expiry(self.expires_at)

    @property
    def is_purged(self) -> bool:
        return self.purged_at is not None

    def is_live(self, now: datetime) -> bool:
        """Not purged and not past its expiry (drafts included)."""
        return self.purged_at is None and now < self.expires_at

    def is_visible(self, now: datetime) -> bool:
        """What other people may see: published, not removed, not expired."""
        return (self.status is PostStatus.PUBLISHED and self.removed_at is None
                and self.is_live(now))

    @property
    def media_readable(self) -> bool:
        return self.wrapped_key is not None and self.media_key is not None

    # ---- its life --------------------------------------------------------------------

    def media_ready(self, *, key: str, wrapped_key: bytes, sha256: str, size: int,
                    container: str, redaction: dict[str, Any] | None) -> None:
        if self.status is not PostStatus.PREPARING:
            raise Conflict("this post's media is already made")
        self.media_key, self.wrapped_key, self.media_sha256 = key, wrapped_key, sha256
        self.media_size, self.media_container, self.redaction = size, container, redaction
        self.status = PostStatus.DRAFT
        self.record(PostMediaPrepared(actor_id=None, post_id=self.id,
                                      redacted=redaction is not None,
                                      source_sha256=self.source_sha256 or "", sha256=sha256,
                                      owner_id=self.author_id))

    def media_failed(self, reason: str) -> None:
        if self.status is not PostStatus.PREPARING:
            return
        self.status, self.failure = PostStatus.FAILED, reason
        self.record(PostMediaFailed(actor_id=None, post_id=self.id, reason=reason,
                                    owner_id=self.author_id))

    def publish(self, *, actor_id: UUID, now: datetime) -> None:
        if actor_id != self.author_id:
            raise Conflict("only the author may publish this post")
        if not self.is_live(now):
            raise Conflict("this post has expired")
        if self.status is PostStatus.PUBLISHED:
            raise Conflict("this post is already published")
        if self.status is not PostStatus.DRAFT:
            raise Conflict("this post's media is not ready yet: preview it first")
        self.status, self.published_at = PostStatus.PUBLISHED, now
        self.record(PostPublished(actor_id=actor_id, post_id=self.id,
                                  category=self.category, owner_id=self.author_id))

    def withdraw(self, *, actor_id: UUID, now: datetime) -> None:
        """The author takes the post down for good: text gone, media key shredded."""
        if self.purged_at is not None:
            raise Conflict("this post is already gone")
        self.record(PostWithdrawn(actor_id=actor_id, post_id=self.id,
                                  owner_id=self.author_id))
        self.purge_text(now=now, reason="withdrawn", actor_id=actor_id)

    def shred(self, *, reason: str, actor_id: UUID | None) -> bool:
        """Destroy the media's data key (crypto-shredding); the bytes go in a job."""
        if self.wrapped_key is None:
            return False
        self.wrapped_key = None
        self.record(PostKeyShredded(actor_id=actor_id, post_id=self.id, reason=reason,
                                    owner_id=self.author_id, media_key=self.media_key))
        return True

    def purge_text(self, *, now: datetime, reason: str, actor_id: UUID | None) -> None:
        """Expired or withdrawn: the words go now, the media key with them. A post with
        media is marked purged when its bytes are deleted (``mark_purged``)."""
        self.title, self.description = "", ""
        if self.status is PostStatus.PREPARING:
            self.status, self.failure = PostStatus.FAILED, reason
        self.expires_at = min(self.expires_at, now)
        if not self.shred(reason=reason, actor_id=actor_id) and self.media_key is None:
            self.mark_purged(now=now, reason=reason, actor_id=actor_id)
        else:
            self.purge_reason = reason

    def media_deleted(self, *, now: datetime, actor_id: UUID | None) -> None:
        """The media's bytes are gone (after ``shred``); a post that is going as a whole
        (expired, withdrawn) is purged with them."""
        self.media_key = None
        if self.purge_reason is not None:
            self.mark_purged(now=now, reason=self.purge_reason, actor_id=actor_id)

    def mark_purged(self, *, now: datetime, reason: str, actor_id: UUID | None) -> None:
        if self.purged_at is not None:
            return
        self.purged_at, self.purge_reason = now, reason
        self.title, self.description = "", ""
        self.record(PostPurged(actor_id=actor_id, post_id=self.id, reason=reason,
                               owner_id=self.author_id))
