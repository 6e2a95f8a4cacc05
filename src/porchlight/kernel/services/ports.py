"""The ports the use cases need; adapters implement them and bootstrap picks which."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol
from uuid import UUID

from porchlight.accounts.domain.accounts import Account
from porchlight.accounts.domain.agencies import Agency
from porchlight.accounts.domain.auth import (
    ApiToken,
    DeviceToken,
    OneTimeToken,
    RecoveryCode,
    Session,
)
from porchlight.custody.domain.demands import LegalDemand
from porchlight.custody.domain.evidence import EvidenceItem
from porchlight.custody.domain.holds import LegalHold
from porchlight.custody.domain.reshare import EvidenceShare
from porchlight.feed.domain.moderation import Comment, Report
from porchlight.feed.domain.posts import FeedPage, Post
from porchlight.footage.domain.cameras import Camera
from porchlight.footage.domain.clips import Clip
from porchlight.jobs.domain.jobs import Job, JobState
from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.events import DomainEvent
from porchlight.kernel.domain.geo import LatLon
from porchlight.redaction.domain.copies import RedactedCopy
from porchlight.requests.domain.consent import Consent, Delivery
from porchlight.requests.domain.requests import VideoRequest


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    body: str
    # An idempotency key: the same key is the same message (its Message-ID), so a job
    # retried after a crash between sending and recording it sends what clients show once.
    key: str | None = None


class JobQueue(Protocol):
    """The job transport: it only carries wake-ups; the database holds the work."""

    def wake(self, job_id: UUID, delay_seconds: float = 0.0) -> None: ...


class HealthCheck(Protocol):
    def database_reachable(self) -> bool:
        """Whether the database answers, without waiting behind a writer's lock."""
        ...


class Mailer(Protocol):
    def send(self, mail: OutgoingMail) -> None:
        """Deliver now or raise; called only after the transaction that caused it committed."""
        ...


class KeyVault(Protocol):
    """Envelope encryption under a key-encryption key the vault never hands out.

    ``context`` is bound as associated data, so a sealed value moved to another row or
    purpose fails to open.
    """

    def seal(self, plaintext: bytes, *, context: bytes) -> bytes: ...

    def open(self, sealed: bytes, *, context: bytes) -> bytes: ...


@dataclass(frozen=True)
class VideoInfo:
    """What a probe learned about a video file; only files that passed every limit get one."""

    container: str  # "mp4" (mp4/mov family) or "matroska" (mkv/webm)
    video_codec: str  # "h264", "hevc", "vp9" or "av1"
    audio_codec: str | None
    width: int
    height: int
    frame_rate: float
    duration_seconds: float
    rotation: int  # degrees clockwise from the display matrix / rotate tag: 0, 90, 180, 270


@dataclass(frozen=True)
class Examined:
    """A probe and a poster frame of the same file, from one pass of the video tools."""

    info: VideoInfo
    poster: bytes  # JPEG


@dataclass(frozen=True)
class Trim:
    """What a trim produced: the offsets (seconds into the source) it covers, and how."""

    start_seconds: float
    end_seconds: float
    stream_copy: bool
    info: VideoInfo


class VideoTools(Protocol):
    """Everything that decodes footage. Implementations isolate the decoder from the server.

    Each call works on a local file the server itself wrote; a refusal raises
    ``porchlight.kernel.domain.errors.VideoRejected`` with a reason code and a clear message.
    """

    def probe(self, path: Path) -> VideoInfo: ...

    def poster(self, path: Path, *, max_width: int = 480) -> bytes:
        """A JPEG of a frame about a second in (the first frame for shorter clips)."""
        ...

    def examine(self, path: Path, *, poster_width: int = 480) -> Examined:
        """``probe`` and then ``poster``, refusing as ``probe`` does; the upload path uses it."""
        ...

    def trim(self, source: Path, target: Path, start_seconds: float, end_seconds: float) -> Trim:
        """Copy the part of ``source`` between the two offsets to ``target`` (same container).

        Stream copy where keyframes allow; the result reports the offsets it really covers.
        """
        ...


class StagedFootage(Protocol):
    """Footage sealed (encrypted) into staging and not yet visible under its key.

    The use case reads ``size`` and ``sha256`` (of the plaintext, as it was sealed),
    decides, and settles it once: ``publish`` makes the object appear under ``key`` all
    at once (a reader sees no object, or the previous one, until then, and the complete
    new one after); ``discard`` removes the staging and nothing appears. A ``publish``
    that raises leaves the staging removed and, for a new key, no object (at worst, when
    only the last durability step failed, the complete one: a caller that must leave
    nothing deletes the key). Settling twice raises, except that ``discard`` may be
    repeated. Leaving a ``with`` block with the handle unsettled discards it.
    """

    @property
    def key(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def sha256(self) -> str: ...

    def publish(self) -> None: ...

    def discard(self) -> None: ...

    def __enter__(self) -> StagedFootage: ...

    def __exit__(self, *exc: object) -> None: ...


class FootageStore(Protocol):
    """Encrypted footage objects: AES-256-GCM in chunks under a per-object data key.

    Objects are written in two steps, ``seal`` then ``publish`` or ``discard``, and are
    all or nothing: a crash at any point leaves either no object or a complete one, and
    what it left in staging is removed by ``sweep_staging``. They are read back in
    plaintext ranges, so playback can seek without decrypting, or holding in memory, a
    whole clip.
    """

    def seal(self, key: str, plaintext: Path, data_key: bytes) -> StagedFootage:
        """Encrypt the file into staging for ``key``; nothing is visible under ``key``
        until the handle is published. On failure nothing is left in staging."""
        ...

    def read(self, key: str, data_key: bytes, start: int, end: int) -> Iterator[bytes]:
        """Plaintext bytes [start, end) (end exclusive), decrypted chunk by chunk."""
        ...

    def plaintext_size(self, key: str) -> int: ...

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing object is not an error."""
        ...

    def exists(self, key: str) -> bool: ...

    def keys(self, prefix: str = "") -> Iterator[str]: ...

    def sweep_staging(self) -> int:
        """Remove staged objects no live process holds any more (a crash left them,
        unsettled); returns how many. Staging of live processes is never touched."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class AccountRepository(Protocol):
    def add(self, account: Account) -> None: ...

    def get(self, account_id: UUID) -> Account | None: ...

    def get_by_email(self, email: str) -> Account | None: ...

    def list_staff(self, agency_id: UUID) -> Sequence[Account]: ...

    def count_residents(self) -> int: ...


class AgencyRepository(Protocol):
    def add(self, agency: Agency) -> None: ...

    def get(self, agency_id: UUID) -> Agency | None: ...

    def get_many(self, ids: Sequence[UUID]) -> dict[UUID, Agency]: ...

    def list(self) -> Sequence[Agency]: ...


class CameraRepository(Protocol):
    def add(self, camera: Camera) -> None: ...

    def get(self, camera_id: UUID) -> Camera | None: ...

    def list_by_owner(self, owner_id: UUID) -> Sequence[Camera]: ...

    def count(self, *, opted_in: bool | None = None) -> int: ...

    def within(
        self, centre: LatLon, radius_m: float, *, opted_in_only: bool = True
    ) -> list[Camera]:
        """Cameras within ``radius_m`` metres (haversine, R = 6,371,008.8 m) of ``centre``."""
        ...


class SessionRepository(Protocol):
    def add(self, session: Session) -> None: ...

    def get(self, session_id: UUID) -> Session | None: ...

    def get_by_token_hash(self, token_hash: str) -> Session | None: ...

    def list_open(self, account_id: UUID) -> Sequence[Session]: ...


class ApiTokenRepository(Protocol):
    def add(self, token: ApiToken) -> None: ...

    def get(self, token_id: UUID) -> ApiToken | None: ...

    def get_by_token_hash(self, token_hash: str) -> ApiToken | None: ...

    def list_for_account(self, account_id: UUID) -> Sequence[ApiToken]: ...


class DeviceTokenRepository(Protocol):
    def add(self, token: DeviceToken) -> None: ...

    def get_by_token_hash(self, token_hash: str) -> DeviceToken | None: ...

    def list_for_camera(self, camera_id: UUID) -> Sequence[DeviceToken]: ...


class OneTimeTokenRepository(Protocol):
    def add(self, token: OneTimeToken) -> None: ...

    def get(self, token_id: UUID) -> OneTimeToken | None: ...

    def get_by_token_hash(self, token_hash: str) -> OneTimeToken | None: ...

    def list_open(self, account_id: UUID) -> Sequence[OneTimeToken]: ...


class RecoveryCodeRepository(Protocol):
    def add(self, code: RecoveryCode) -> None: ...

    def list_unused(self, account_id: UUID) -> Sequence[RecoveryCode]: ...


class ClipRepository(Protocol):
    def add(self, clip: Clip) -> None: ...

    def get(self, clip_id: UUID) -> Clip | None: ...

    def get_many(self, ids: Sequence[UUID]) -> dict[UUID, Clip]: ...

    def find_by_sha256(self, camera_id: UUID, sha256: str) -> Clip | None: ...

    def list_for_owner(self, owner_id: UUID, *, limit: int = 500) -> Sequence[Clip]: ...

    def list_for_camera(self, camera_id: UUID) -> Sequence[Clip]: ...

    def cameras_with_footage(
        self, camera_ids: Sequence[UUID], start: datetime, end: datetime
    ) -> set[UUID]:
        """Which of the cameras have a readable (not deleted, not shredded) clip
        overlapping [start, end)."""
        ...

    def expired(self, now: datetime, *, limit: int, readable: bool = False
                ) -> Sequence[Clip]:
        """Clips past their expiry that are not yet marked purged, oldest first; with
        ``readable``, only those whose key is not shredded yet."""
        ...

    def count_expired(self, now: datetime) -> int: ...

    def known_object_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these object keys belong to a clip row (as footage or as poster)."""
        ...


class VideoRequestRepository(Protocol):
    def add(self, request: VideoRequest) -> None: ...

    def get(self, request_id: UUID) -> VideoRequest | None: ...

    def get_many(self, ids: Sequence[UUID]) -> dict[UUID, VideoRequest]: ...

    def list_for_agency(self, agency_id: UUID) -> Sequence[VideoRequest]: ...

    def awaiting_delivery(self) -> Sequence[VideoRequest]: ...

    def due_to_close(self, now: datetime) -> Sequence[VideoRequest]: ...


class DeliveryRepository(Protocol):
    def add(self, delivery: Delivery) -> None: ...

    def get(self, delivery_id: UUID) -> Delivery | None: ...

    def for_request(self, request_id: UUID) -> Sequence[Delivery]: ...

    def for_resident(self, resident_id: UUID) -> Sequence[Delivery]: ...


class ConsentRepository(Protocol):
    def add(self, consent: Consent) -> None: ...

    def get(self, consent_id: UUID) -> Consent | None: ...

    def for_request(self, request_id: UUID) -> Sequence[Consent]: ...

    def for_delivery(self, delivery_id: UUID) -> Consent | None: ...

    def get_many(self, ids: Sequence[UUID]) -> dict[UUID, Consent]: ...



class EvidenceRepository(Protocol):
    def add(self, item: EvidenceItem) -> None: ...

    def get(self, evidence_id: UUID) -> EvidenceItem | None: ...

    def for_request(self, request_id: UUID) -> Sequence[EvidenceItem]: ...

    def for_consent(self, consent_id: UUID) -> Sequence[EvidenceItem]: ...

    def expired(self, now: datetime, limit: int) -> Sequence[EvidenceItem]:
        """Items past the retention their agency committed to, not yet purged, oldest
        deadline first."""
        ...

    def known_object_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these object keys an evidence row names (purged or not)."""
        ...

    def received_by(self, agency_id: UUID) -> Sequence[EvidenceItem]:
        """The copies other agencies re-shared to this one (purged or not), newest first."""
        ...

    def for_demand(self, demand_id: UUID) -> Sequence[EvidenceItem]:
        """The items delivered under a legal demand (purged or not), earliest footage first."""
        ...

        ...

    def for_resident(self, resident_id: UUID) -> Sequence[EvidenceItem]:
        """Every item made from the resident's clips, re-shared copies included."""
        ...

    def deletion_requested(self, agency_id: UUID) -> Sequence[EvidenceItem]:
        """The agency's items whose owner asked for deletion (answered or not)."""
        ...


class LegalDemandRepository(Protocol):
    def add(self, demand: LegalDemand) -> None: ...

    def get(self, demand_id: UUID) -> LegalDemand | None: ...

    def listed(self, agency_id: UUID | None = None) -> Sequence[LegalDemand]:
        """Every demand (or every one for the agency), newest first."""
        ...

    def awaiting_notice(self) -> Sequence[LegalDemand]:
        """Fulfilled demands whose owners have not been told yet, oldest first."""
        ...

    def noticed(self) -> Sequence[LegalDemand]:
        """Demands whose owners have been told, most recently told first."""
        ...


class EvidenceShareRepository(Protocol):
    def add(self, share: EvidenceShare) -> None: ...

    def get(self, share_id: UUID) -> EvidenceShare | None: ...

    def for_consent(self, consent_id: UUID) -> Sequence[EvidenceShare]:
        """Every re-share of the consent's footage, by any holder, oldest first."""
        ...

    def for_evidence(self, evidence_id: UUID) -> Sequence[EvidenceShare]:
        """Every re-share of this item, oldest first."""
        ...

    def for_consents(self, consent_ids: Sequence[UUID]) -> Sequence[EvidenceShare]: ...


class LegalHoldRepository(Protocol):
    def add(self, hold: LegalHold) -> None: ...

    def get(self, hold_id: UUID) -> LegalHold | None: ...

    def for_request(self, request_id: UUID) -> Sequence[LegalHold]:
        """Every hold ever set on the request (the case), released or not, oldest first."""
        ...

    def for_requests(self, request_ids: Sequence[UUID]) -> Sequence[LegalHold]: ...


class AuditEventRepository(Protocol):
    def count_recent(self, actor_ids: Sequence[UUID], kind: str, since: datetime) -> int:
        """How many ``kind`` events these actors caused from ``since`` on (a rate limit)."""
        ...


class JobRepository(Protocol):
    def add_new(self, job: Job) -> bool:
        """Add the job unless one with its key exists; whether it was added."""
        ...

    def get(self, job_id: UUID) -> Job | None: ...

    def by_key(self, key: str) -> Job | None: ...

    def due(self, now: datetime, limit: int) -> Sequence[Job]:
        """Jobs a worker may take now (pending and due, or claimed under a lapsed lease)."""
        ...

    def listed(self, states: Sequence[JobState], limit: int) -> Sequence[Job]:
        """The newest jobs in these states."""
        ...

    def delete_finished(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` done jobs that finished before ``before``, oldest first;
        how many. Dead jobs stay until an admin retries them."""
        ...


class RedactedCopyRepository(Protocol):
    def add(self, copy: RedactedCopy) -> None: ...

    def get(self, copy_id: UUID) -> RedactedCopy | None: ...

    def for_clip(self, clip_id: UUID) -> Sequence[RedactedCopy]:
        """Every copy of the clip, purged or not, newest first."""
        ...

    def for_clips(self, clip_ids: Sequence[UUID]) -> Sequence[RedactedCopy]: ...

    def unpurged_for_clip(self, clip_id: UUID) -> Sequence[RedactedCopy]: ...

    def known_object_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these object keys a copy's row names."""
        ...

class PostRepository(Protocol):
    def add(self, post: Post) -> None: ...

    def get(self, post_id: UUID) -> Post | None: ...

    def get_many(self, ids: Sequence[UUID]) -> dict[UUID, Post]: ...

    def show_in(self, post: Post, cells: Sequence[int]) -> None:
        """Put the post in the feed of these cells (replacing any it was in)."""
        ...

    def hide(self, post_id: UUID) -> None:
        """Take the post out of every feed."""
        ...

    def cells_of(self, post_id: UUID) -> list[int]: ...

    def feed(self, page: FeedPage) -> list[Post]:
        """The page of the feed, newest first (feed.adapters.feed_query)."""
        ...

    def by_author(self, author_id: UUID, limit: int = 200) -> Sequence[Post]: ...

    def from_clip(self, clip_id: UUID) -> Sequence[Post]: ...

    def expired(self, now: datetime, limit: int) -> Sequence[Post]: ...

    def removed(self, limit: int = 100) -> Sequence[Post]: ...

    def known_object_keys(self, keys: Sequence[str]) -> set[str]: ...


class CommentRepository(Protocol):
    def add(self, comment: Comment) -> None: ...

    def get(self, comment_id: UUID) -> Comment | None: ...

    def for_post(self, post_id: UUID) -> Sequence[Comment]: ...

    def removed(self, limit: int = 100) -> Sequence[Comment]: ...


class ReportRepository(Protocol):
    def add(self, report: Report) -> None: ...

    def get(self, report_id: UUID) -> Report | None: ...

    def open(self, limit: int = 200) -> Sequence[Report]: ...

    def open_for(self, post_id: UUID, comment_id: UUID | None) -> Sequence[Report]: ...

    def by(self, reporter_id: UUID, post_id: UUID) -> Sequence[Report]: ...


class UnitOfWork(Protocol):
    """One transaction: the state changes and the audit events they produce commit together."""

    clock: Clock
    accounts: AccountRepository
    agencies: AgencyRepository
    cameras: CameraRepository
    sessions: SessionRepository
    api_tokens: ApiTokenRepository
    device_tokens: DeviceTokenRepository
    one_time_tokens: OneTimeTokenRepository
    recovery_codes: RecoveryCodeRepository
    clips: ClipRepository
    requests: VideoRequestRepository
    deliveries: DeliveryRepository
    consents: ConsentRepository
    evidence: EvidenceRepository
    holds: LegalHoldRepository
    shares: EvidenceShareRepository
    demands: LegalDemandRepository
    audit_events: AuditEventRepository
    jobs: JobRepository
    redactions: RedactedCopyRepository
    posts: PostRepository
    comments: CommentRepository
    reports: ReportRepository

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def reading(self) -> AbstractContextManager[UnitOfWork]:
        """This unit of work for one ``with`` block that only reads: a snapshot without
        the write lock; committing or writing in it is an error."""
        ...

    def unless_busy(self) -> AbstractContextManager[UnitOfWork]:
        """This unit of work for one ``with`` block whose write can wait for another
        time: ``WriteLockBusy`` at once, instead of waiting, when another writer holds
        the (SQLite) write lock."""
        ...

    def lock(self, entity: Entity) -> None:
        """Hold the entity's row until commit and reload it (read-modify-write)."""
        ...

    def record(self, event: DomainEvent) -> None:
        """Record an event that belongs to no entity (a refused sign-in, say)."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
