"""In-memory repositories, one for each the unit of work exposes (``services.ports``).

Each answers its queries as the SQL one does (same filters, same order, same limits):
``tests/integration/test_repository_contract.py`` runs the same checks on both. They
read through the fake unit of work's session (``FakeUnitOfWork``): the rows committed
before it opened, as copies of its own, plus what it added or changed since, as the
real repositories see a transaction's own pending changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import NAMESPACE_OID, UUID, uuid5

from porchlight.accounts.domain.accounts import Account, AccountKind
from porchlight.accounts.domain.agencies import Agency
from porchlight.accounts.domain.auth import (
    ApiToken,
    DeviceToken,
    OneTimeToken,
    RecoveryCode,
    Session,
)
from porchlight.custody.domain.demands import DemandStatus, LegalDemand
from porchlight.custody.domain.evidence import EvidenceItem
from porchlight.custody.domain.holds import LegalHold
from porchlight.custody.domain.reshare import EvidenceShare
from porchlight.feed.domain.moderation import Comment, Report
from porchlight.feed.domain.posts import FeedPage, Post
from porchlight.footage.domain.cameras import Camera
from porchlight.footage.domain.clips import Clip
from porchlight.jobs.domain.jobs import Job, JobState
from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.geo import LatLon, within_radius
from porchlight.redaction.domain.copies import RedactedCopy
from porchlight.requests.domain.consent import Consent, Delivery
from porchlight.requests.domain.requests import RequestStatus, VideoRequest

if TYPE_CHECKING:
    from tests.unit.fake_uow import FakeUnitOfWork

T = TypeVar("T", bound=Entity)


class Unique:
    """A unique rule of a table: ``raced`` ones (``adapters.db.uow.RACED``) become
    ``Conflict`` at commit, as in the SQL unit of work; the others are bugs."""

    def __init__(self, name: str, key: Callable[[Any], object], *, raced: bool,
                 applies: Callable[[Any], bool] = lambda entity: True) -> None:
        self.name, self.key, self.raced, self.applies = name, key, raced, applies


class FakeRepository(Generic[T]):
    table: str
    unique: tuple[Unique, ...] = ()

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    def add(self, entity: T) -> None:
        self._uow.stage_new(self.table, entity)

    def get(self, entity_id: UUID) -> T | None:
        return self._uow.load(self.table, entity_id)

    def get_many(self, ids: Sequence[UUID]) -> dict[UUID, T]:
        found = (self.get(entity_id) for entity_id in set(ids))
        return {entity.id: entity for entity in found if entity is not None}

    def _rows(self) -> list[T]:
        """Every row as this transaction sees it (committed, changed, added)."""
        return self._uow.visible(self.table)

    def _where(self, keep: Callable[[T], bool], order: Callable[[T], Any] | None = None,
               *, descending: bool = False, limit: int | None = None) -> list[T]:
        found = [row for row in self._rows() if keep(row)]
        if order is not None:
            found.sort(key=order, reverse=descending)
        return found if limit is None else found[:limit]

    def _first(self, keep: Callable[[T], bool]) -> T | None:
        found = self._where(keep)
        return found[0] if found else None


class _ByTokenHash(FakeRepository[T]):
    def get_by_token_hash(self, token_hash: str) -> T | None:
        return self._first(lambda row: row.token_hash == token_hash)


class FakeAccountRepository(FakeRepository[Account]):
    table = "accounts"
    unique = (Unique("uq_accounts_email", lambda a: a.email, raced=True),)

    def get_by_email(self, email: str) -> Account | None:
        return self._first(lambda a: a.email == email)

    def list_staff(self, agency_id: UUID) -> Sequence[Account]:
        return self._where(lambda a: a.agency_id == agency_id, lambda a: a.display_name)

    def count_residents(self) -> int:
        return len(self._where(lambda a: a.kind is AccountKind.RESIDENT))


class FakeAgencyRepository(FakeRepository[Agency]):
    table = "agencies"

    def list(self) -> Sequence[Agency]:
        return self._where(lambda a: True, lambda a: a.name)


class FakeCameraRepository(FakeRepository[Camera]):
    table = "cameras"

    def list_by_owner(self, owner_id: UUID) -> Sequence[Camera]:
        return self._where(lambda c: c.owner_id == owner_id, lambda c: c.created_at)

    def count(self, *, opted_in: bool | None = None) -> int:
        return len(self._where(lambda c: opted_in is None or c.opted_in is opted_in))

    def within(
        self, centre: LatLon, radius_m: float, *, opted_in_only: bool = True
    ) -> list[Camera]:
        return self._where(lambda c: (c.opted_in or not opted_in_only)
                           and within_radius(centre, radius_m, LatLon(c.lat, c.lon)))


class FakeSessionRepository(_ByTokenHash[Session]):
    table = "sessions"
    unique = (Unique("sessions.token_hash", lambda s: s.token_hash, raced=False),)

    def list_open(self, account_id: UUID) -> Sequence[Session]:
        return self._where(lambda s: s.account_id == account_id and s.ended_at is None,
                           lambda s: s.created_at, descending=True)


class FakeApiTokenRepository(_ByTokenHash[ApiToken]):
    table = "api_tokens"
    unique = (Unique("api_tokens.token_hash", lambda t: t.token_hash, raced=False),)

    def list_for_account(self, account_id: UUID) -> Sequence[ApiToken]:
        return self._where(lambda t: t.account_id == account_id, lambda t: t.created_at,
                           descending=True)


class FakeDeviceTokenRepository(_ByTokenHash[DeviceToken]):
    table = "device_tokens"
    unique = (Unique("device_tokens.token_hash", lambda t: t.token_hash, raced=False),)

    def list_for_camera(self, camera_id: UUID) -> Sequence[DeviceToken]:
        return self._where(lambda t: t.camera_id == camera_id, lambda t: t.created_at,
                           descending=True)


class FakeOneTimeTokenRepository(_ByTokenHash[OneTimeToken]):
    table = "one_time_tokens"
    unique = (Unique("one_time_tokens.token_hash", lambda t: t.token_hash, raced=False),)

    def list_open(self, account_id: UUID) -> Sequence[OneTimeToken]:
        return self._where(lambda t: t.account_id == account_id and t.used_at is None)


class FakeRecoveryCodeRepository(FakeRepository[RecoveryCode]):
    table = "recovery_codes"

    def list_unused(self, account_id: UUID) -> Sequence[RecoveryCode]:
        return self._where(lambda c: c.account_id == account_id and c.used_at is None)


class FakeClipRepository(FakeRepository[Clip]):
    table = "clips"
    unique = (
        Unique("ux_clips_live_camera_sha256", lambda c: (c.camera_id, c.sha256), raced=True,
               applies=lambda c: c.deleted_at is None),
        Unique("clips.object_key", lambda c: c.object_key, raced=False),
    )

    def find_by_sha256(self, camera_id: UUID, sha256: str) -> Clip | None:
        return self._first(lambda c: c.camera_id == camera_id and c.sha256 == sha256
                           and c.deleted_at is None)

    def list_for_owner(self, owner_id: UUID, *, limit: int = 500) -> Sequence[Clip]:
        return self._where(lambda c: c.owner_id == owner_id and c.deleted_at is None
                           and c.wrapped_key is not None,
                           lambda c: c.recorded_at, descending=True, limit=limit)

    def list_for_camera(self, camera_id: UUID) -> Sequence[Clip]:
        return self._where(lambda c: c.camera_id == camera_id and c.deleted_at is None
                           and c.wrapped_key is not None, lambda c: c.recorded_at)

    def cameras_with_footage(
        self, camera_ids: Sequence[UUID], start: datetime, end: datetime
    ) -> set[UUID]:
        wanted = set(camera_ids)
        return {c.camera_id for c in self._where(
            lambda c: c.camera_id in wanted and c.deleted_at is None
            and c.wrapped_key is not None and c.recorded_at < end
            and c.recorded_at + timedelta(seconds=c.duration_seconds) > start)}

    def expired(self, now: datetime, *, limit: int, readable: bool = False
                ) -> Sequence[Clip]:
        return self._where(lambda c: c.expires_at <= now and c.deleted_at is None
                           and (c.wrapped_key is not None or not readable),
                           lambda c: (c.expires_at, c.id), limit=limit)

    def count_expired(self, now: datetime) -> int:
        return len(self._where(lambda c: c.expires_at <= now and c.deleted_at is None))

    def known_object_keys(self, keys: Sequence[str]) -> set[str]:
        wanted = set(keys)
        return {key for c in self._rows() for key in (c.object_key, c.poster_key)
                if key in wanted}


class FakeVideoRequestRepository(FakeRepository[VideoRequest]):
    table = "requests"

    def list_for_agency(self, agency_id: UUID) -> Sequence[VideoRequest]:
        return self._where(lambda r: r.agency_id == agency_id, lambda r: r.created_at,
                           descending=True)

    def awaiting_delivery(self) -> Sequence[VideoRequest]:
        return self._where(lambda r: r.status is RequestStatus.OPEN and r.delivered_at is None)

    def due_to_close(self, now: datetime) -> Sequence[VideoRequest]:
        return self._where(lambda r: r.status is RequestStatus.OPEN
                           and r.deadline is not None and r.deadline <= now)


class FakeDeliveryRepository(FakeRepository[Delivery]):
    table = "deliveries"
    unique = (Unique("one_per_resident", lambda d: (d.request_id, d.resident_id), raced=True),)

    def for_request(self, request_id: UUID) -> Sequence[Delivery]:
        return self._where(lambda d: d.request_id == request_id)

    def for_resident(self, resident_id: UUID) -> Sequence[Delivery]:
        return self._where(lambda d: d.resident_id == resident_id, lambda d: d.created_at,
                           descending=True)


class FakeConsentRepository(FakeRepository[Consent]):
    table = "consents"
    unique = (Unique("uq_consents_delivery_id", lambda c: c.delivery_id, raced=True),)

    def for_request(self, request_id: UUID) -> Sequence[Consent]:
        return self._where(lambda c: c.request_id == request_id, lambda c: c.created_at)

    def for_delivery(self, delivery_id: UUID) -> Consent | None:
        return self._first(lambda c: c.delivery_id == delivery_id)


class FakeEvidenceRepository(FakeRepository[EvidenceItem]):
    table = "evidence"
    unique = (
        Unique("one_per_clip", lambda e: (e.consent_id, e.source_clip_id), raced=True,
               applies=lambda e: e.parent_id is None),
        Unique("evidence_items.object_key", lambda e: e.object_key, raced=False),
        Unique("one_per_demanded_clip", lambda e: (e.legal_demand_id, e.source_clip_id),
               raced=True, applies=lambda e: e.legal_demand_id is not None),
    )

    def for_request(self, request_id: UUID) -> Sequence[EvidenceItem]:
        return self._where(lambda e: e.request_id == request_id, lambda e: e.covers_from)

    def for_consent(self, consent_id: UUID) -> Sequence[EvidenceItem]:
        return self._where(lambda e: e.consent_id == consent_id)

    def expired(self, now: datetime, limit: int) -> Sequence[EvidenceItem]:
        return self._where(lambda e: e.purged_at is None and e.expires_at <= now,
                           lambda e: (e.expires_at, e.id), limit=limit)

    def known_object_keys(self, keys: Sequence[str]) -> set[str]:
        wanted = set(keys)
        return {e.object_key for e in self._where(lambda e: e.object_key in wanted)}

    def received_by(self, agency_id: UUID) -> Sequence[EvidenceItem]:
        return self._where(lambda e: e.agency_id == agency_id and e.parent_id is not None,
                           lambda e: (-e.received_at.timestamp(), e.id))

    def for_demand(self, demand_id: UUID) -> Sequence[EvidenceItem]:
        return self._where(lambda e: e.legal_demand_id == demand_id,
                           lambda e: (e.covers_from, e.id))


    def _consents(self) -> dict[UUID, Consent]:
        return {c.id: c for c in self._uow.visible("consents")}

    def for_resident(self, resident_id: UUID) -> Sequence[EvidenceItem]:
        owners = {c.id: c.owner_id for c in self._uow.visible("clips")}
        return self._where(lambda e: owners.get(e.source_clip_id) == resident_id,
                           lambda e: (e.received_at, e.id))

    def deletion_requested(self, agency_id: UUID) -> Sequence[EvidenceItem]:
        consents = self._consents()
        return self._where(
            lambda e: (e.agency_id == agency_id and e.consent_id in consents
                       and consents[e.consent_id].deletion_requested_at is not None),
            lambda e: (consents[e.consent_id].deletion_requested_at, e.id))


class FakeLegalDemandRepository(FakeRepository[LegalDemand]):
    table = "demands"

    def listed(self, agency_id: UUID | None = None) -> Sequence[LegalDemand]:
        return self._where(lambda d: agency_id is None or d.agency_id == agency_id,
                           lambda d: (-d.recorded_at.timestamp(), d.id))

    def awaiting_notice(self) -> Sequence[LegalDemand]:
        return self._where(lambda d: d.status is DemandStatus.FULFILLED
                           and d.notice_sent_at is None, lambda d: (d.fulfilled_at, d.id))

    def noticed(self) -> Sequence[LegalDemand]:
        return self._where(lambda d: d.notice_sent_at is not None,
                           lambda d: (-d.notice_sent_at.timestamp(), d.id))


class FakeEvidenceShareRepository(FakeRepository[EvidenceShare]):
    table = "shares"

    def for_consent(self, consent_id: UUID) -> Sequence[EvidenceShare]:
        return self._where(lambda s: s.consent_id == consent_id, lambda s: (s.shared_at, s.id))

    def for_evidence(self, evidence_id: UUID) -> Sequence[EvidenceShare]:
        return self._where(lambda s: s.evidence_id == evidence_id,
                           lambda s: (s.shared_at, s.id))

    def for_consents(self, consent_ids: Sequence[UUID]) -> Sequence[EvidenceShare]:
        wanted = set(consent_ids)
        return self._where(lambda s: s.consent_id in wanted, lambda s: (s.shared_at, s.id))


class FakeLegalHoldRepository(FakeRepository[LegalHold]):
    table = "holds"

    def for_request(self, request_id: UUID) -> Sequence[LegalHold]:
        return self._where(lambda h: h.request_id == request_id,
                           lambda h: (h.set_at, h.id))

    def for_requests(self, request_ids: Sequence[UUID]) -> Sequence[LegalHold]:
        wanted = set(request_ids)
        return self._where(lambda h: h.request_id in wanted, lambda h: (h.set_at, h.id))


class FakeJobRepository(FakeRepository[Job]):
    table = "jobs"
    unique = (Unique("jobs.key", lambda j: j.key, raced=False),)

    def add_new(self, job: Job) -> bool:
        if self.by_key(job.key) is not None:
            return False
        self._uow.stage_new(self.table, job, track=False)  # the SQL one inserts a bare row
        return True

    def by_key(self, key: str) -> Job | None:
        return self._first(lambda j: j.key == key)

    def due(self, now: datetime, limit: int) -> Sequence[Job]:
        return self._where(lambda j: (j.state is JobState.PENDING and j.run_after <= now) or (
            j.state is JobState.RUNNING and j.claimed_until is not None
            and j.claimed_until <= now), lambda j: j.run_after, limit=limit)

    def delete_finished(self, before: datetime, limit: int) -> int:
        gone = self._where(lambda j: j.state is JobState.DONE and j.finished_at is not None
                           and j.finished_at < before, lambda j: j.finished_at, limit=limit)
        for job in gone:
            self._uow.stage_delete(self.table, job.id)
        return len(gone)

    def listed(self, states: Sequence[JobState], limit: int) -> Sequence[Job]:
        wanted = set(states)
        return self._where(lambda j: j.state in wanted, lambda j: j.created_at,
                           descending=True, limit=limit)


POST_CELLS = "post_cells"  # a side table of the fake unit of work (the SQL table's rows)


@dataclass(eq=False)
class PostCell(Entity):
    """A row of ``post_cells``: the post is shown in this cell's feed."""

    id: UUID  # (post, cell), as one value
    cell: int
    post_id: UUID
    published_at: datetime
    category: str
    expires_at: datetime


class FakePostRepository(FakeRepository[Post]):
    table = "posts"

    def show_in(self, post: Post, cells: Sequence[int]) -> None:
        self.hide(post.id)
        for cell in sorted(set(cells)):
            self._uow.stage_new(POST_CELLS, PostCell(
                uuid5(NAMESPACE_OID, f"{post.id}:{cell}"), cell, post.id, post.published_at,
                post.category.value, post.expires_at), track=False)

    def hide(self, post_id: UUID) -> None:
        for row in self._uow.visible(POST_CELLS):
            if row.post_id == post_id:
                self._uow.stage_delete(POST_CELLS, row.id)

    def cells_of(self, post_id: UUID) -> list[int]:
        return [row.cell for row in self._uow.visible(POST_CELLS) if row.post_id == post_id]

    def feed(self, page: FeedPage) -> list[Post]:
        wanted = set(page.cells)
        keys = {(row.published_at, row.post_id) for row in self._uow.visible(POST_CELLS)
                if row.cell in wanted and row.expires_at > page.now
                and (page.before is None or (row.published_at, row.post_id) < page.before)
                and (page.since is None or row.published_at >= page.since)
                and (page.category is None or row.category == page.category)}
        newest = sorted(keys, reverse=True)[:page.limit]
        found = self.get_many([post_id for _, post_id in newest])
        return [found[post_id] for _, post_id in newest if post_id in found]

    def by_author(self, author_id: UUID, limit: int = 200) -> Sequence[Post]:
        return self._where(lambda p: p.author_id == author_id, lambda p: (p.created_at, p.id),
                           descending=True, limit=limit)

    def from_clip(self, clip_id: UUID) -> Sequence[Post]:
        return self._where(lambda p: p.source_clip_id == clip_id)

    def expired(self, now: datetime, limit: int) -> Sequence[Post]:
        return self._where(lambda p: p.purged_at is None and p.expires_at <= now
                           and p.purge_reason is None,
                           lambda p: (p.expires_at, p.id), limit=limit)

    def removed(self, limit: int = 100) -> Sequence[Post]:
        return self._where(lambda p: p.removed_at is not None and p.purged_at is None,
                           lambda p: p.removed_at, descending=True, limit=limit)

    def known_object_keys(self, keys: Sequence[str]) -> set[str]:
        wanted = set(keys)
        return {p.media_key for p in self._rows() if p.media_key in wanted}


class FakeCommentRepository(FakeRepository[Comment]):
    table = "comments"

    def for_post(self, post_id: UUID) -> Sequence[Comment]:
        return self._where(lambda c: c.post_id == post_id, lambda c: (c.created_at, c.id))

    def removed(self, limit: int = 100) -> Sequence[Comment]:
        return self._where(lambda c: c.removed_at is not None, lambda c: c.removed_at,
                           descending=True, limit=limit)


class FakeReportRepository(FakeRepository[Report]):
    table = "reports"

    def open(self, limit: int = 200) -> Sequence[Report]:
        return self._where(lambda r: r.resolved_at is None, lambda r: (r.created_at, r.id),
                           limit=limit)

    def open_for(self, post_id: UUID, comment_id: UUID | None) -> Sequence[Report]:
        return self._where(lambda r: r.post_id == post_id and r.resolved_at is None
                           and r.comment_id == comment_id)

    def by(self, reporter_id: UUID, post_id: UUID) -> Sequence[Report]:
        return self._where(lambda r: r.reporter_id == reporter_id and r.post_id == post_id)


class FakeRedactedCopyRepository(FakeRepository[RedactedCopy]):
    table = "redactions"

    def for_clip(self, clip_id: UUID) -> Sequence[RedactedCopy]:
        return self._where(lambda c: c.clip_id == clip_id, lambda c: (c.created_at, str(c.id)),
                           descending=True)

    def for_clips(self, clip_ids: Sequence[UUID]) -> Sequence[RedactedCopy]:
        wanted = set(clip_ids)
        return self._where(lambda c: c.clip_id in wanted, lambda c: (c.created_at, str(c.id)),
                           descending=True)

    def unpurged_for_clip(self, clip_id: UUID) -> Sequence[RedactedCopy]:
        return self._where(lambda c: c.clip_id == clip_id and c.status != "purged")

    def known_object_keys(self, keys: Sequence[str]) -> set[str]:
        wanted = set(keys)
        return {c.object_key for c in self._rows() if c.object_key in wanted}


class FakeAuditEventRepository:
    """Reads the audit events the fake unit of work committed."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    def count_recent(self, actor_ids: Sequence[UUID], kind: str, since: datetime) -> int:
        self._uow.check_open()
        actors = set(actor_ids)
        return sum(1 for at, event in self._uow.audit_times
                   if event.actor_id in actors and event.kind == kind and at >= since)


REPOSITORIES: dict[str, type[FakeRepository[Any]]] = {
    "accounts": FakeAccountRepository,
    "agencies": FakeAgencyRepository,
    "cameras": FakeCameraRepository,
    "sessions": FakeSessionRepository,
    "api_tokens": FakeApiTokenRepository,
    "device_tokens": FakeDeviceTokenRepository,
    "one_time_tokens": FakeOneTimeTokenRepository,
    "recovery_codes": FakeRecoveryCodeRepository,
    "clips": FakeClipRepository,
    "requests": FakeVideoRequestRepository,
    "deliveries": FakeDeliveryRepository,
    "consents": FakeConsentRepository,
    "evidence": FakeEvidenceRepository,
    "holds": FakeLegalHoldRepository,
    "shares": FakeEvidenceShareRepository,
    "demands": FakeLegalDemandRepository,
    "jobs": FakeJobRepository,
    "posts": FakePostRepository,
    "comments": FakeCommentRepository,
    "reports": FakeReportRepository,
    "redactions": FakeRedactedCopyRepository,
}


def broken_rules(repository: type[FakeRepository[Any]], rows: Iterable[Any]) -> list[Unique]:
    """The unique rules these rows break together."""
    broken = []
    rows = list(rows)
    for rule in repository.unique:
        seen: set[object] = set()
        for row in rows:
            if not rule.applies(row):
                continue
            key = rule.key(row)
            if key in seen:
                broken.append(rule)
                break
            seen.add(key)
    return broken
