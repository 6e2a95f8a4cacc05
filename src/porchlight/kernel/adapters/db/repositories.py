"""Repositories over a SQLAlchemy session; every entity they hand out is tracked for events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as DbSession

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
from porchlight.footage.domain.cameras import Camera
from porchlight.footage.domain.clips import Clip
from porchlight.jobs.domain.jobs import Job, JobState
from porchlight.kernel.adapters.db import tables
from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.geo import LatLon
from porchlight.redaction.domain.copies import CopyStatus, RedactedCopy
from porchlight.requests.adapters.camera_search import cameras_within
from porchlight.requests.domain.consent import Consent, Delivery
from porchlight.requests.domain.requests import RequestStatus, VideoRequest

Track = Callable[[Entity], None]
T = TypeVar("T", bound=Entity)
_IN_CHUNK = 500  # ids per IN (...) list, well under SQLite's limit on bound values


class _Repository(Generic[T]):
    model: type[T]

    def __init__(self, session: DbSession, track: Track) -> None:
        self.session = session
        self._track = track

    def add(self, entity: T) -> None:
        self.session.add(entity)
        self._track(entity)

    def get(self, entity_id: UUID) -> T | None:
        entity = self.session.get(self.model, entity_id)
        if entity is not None:
            self._track(entity)
        return entity

    def get_many(self, ids: Sequence[UUID]) -> dict[UUID, T]:
        """The entities with these ids, by id, in one query per chunk of ids."""
        wanted, found = sorted(set(ids)), {}
        for first in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[first:first + _IN_CHUNK]
            found.update((e.id, e) for e in self._all(
                select(self.model).where(self.model.id.in_(chunk))))
        return found

    def get_by_token_hash(self, token_hash: str) -> T | None:
        found = self._all(select(self.model).where(self.model.token_hash == token_hash))
        return found[0] if found else None

    def _all(self, statement) -> list[T]:
        found = list(self.session.scalars(statement))
        for entity in found:
            self._track(entity)
        return found


class SqlAccountRepository(_Repository[Account]):
    model = Account

    def get_by_email(self, email: str) -> Account | None:
        found = self._all(select(Account).where(Account.email == email))
        return found[0] if found else None

    def list_staff(self, agency_id: UUID) -> Sequence[Account]:
        return self._all(
            select(Account).where(Account.agency_id == agency_id).order_by(Account.display_name)
        )

    def count_residents(self) -> int:
        statement = select(func.count()).where(Account.kind == AccountKind.RESIDENT)
        return self.session.scalar(statement) or 0


class SqlAgencyRepository(_Repository[Agency]):
    model = Agency

    def list(self) -> Sequence[Agency]:
        return self._all(select(Agency).order_by(Agency.name))


class SqlCameraRepository(_Repository[Camera]):
    model = Camera

    def list_by_owner(self, owner_id: UUID) -> Sequence[Camera]:
        return self._all(
            select(Camera).where(Camera.owner_id == owner_id).order_by(Camera.created_at)
        )

    def count(self, *, opted_in: bool | None = None) -> int:
        statement = select(func.count()).select_from(Camera)
        if opted_in is not None:
            statement = statement.where(Camera.opted_in.is_(opted_in))
        return self.session.scalar(statement) or 0

    def within(
        self, centre: LatLon, radius_m: float, *, opted_in_only: bool = True
    ) -> list[Camera]:
        """Cameras within the radius (haversine), found by H3 ranges; see camera_search."""
        found = cameras_within(self.session, centre, radius_m, opted_in_only=opted_in_only)
        for camera in found:
            self._track(camera)
        return found


class _ByTokenWithAccount(_Repository[T]):
    """A session or API token found by its hash, its account read in the same query:
    every signed-in request looks both up, and ``accounts.get`` then finds the account in
    this unit of work's identity map instead of asking the database again."""

    def get_by_token_hash(self, token_hash: str) -> T | None:
        model: Any = self.model
        row = self.session.execute(
            select(model, Account).join(Account, Account.id == model.account_id)
            .where(model.token_hash == token_hash)).first()
        if row is None:
            return None
        token, account = row
        self._track(token)
        self._track(account)  # held here: the identity map alone keeps it only weakly
        return token


class SqlSessionRepository(_ByTokenWithAccount[Session]):
    model = Session

    def list_open(self, account_id: UUID) -> Sequence[Session]:
        return self._all(
            select(Session)
            .where(Session.account_id == account_id, Session.ended_at.is_(None))
            .order_by(Session.created_at.desc())
        )


class SqlApiTokenRepository(_ByTokenWithAccount[ApiToken]):
    model = ApiToken

    def list_for_account(self, account_id: UUID) -> Sequence[ApiToken]:
        return self._all(
            select(ApiToken).where(ApiToken.account_id == account_id)
            .order_by(ApiToken.created_at.desc())
        )


class SqlDeviceTokenRepository(_Repository[DeviceToken]):
    model = DeviceToken

    def list_for_camera(self, camera_id: UUID) -> Sequence[DeviceToken]:
        return self._all(
            select(DeviceToken).where(DeviceToken.camera_id == camera_id)
            .order_by(DeviceToken.created_at.desc())
        )


class SqlOneTimeTokenRepository(_Repository[OneTimeToken]):
    model = OneTimeToken

    def list_open(self, account_id: UUID) -> Sequence[OneTimeToken]:
        return self._all(
            select(OneTimeToken).where(
                OneTimeToken.account_id == account_id, OneTimeToken.used_at.is_(None)
            )
        )


class SqlRecoveryCodeRepository(_Repository[RecoveryCode]):
    model = RecoveryCode

    def list_unused(self, account_id: UUID) -> Sequence[RecoveryCode]:
        return self._all(
            select(RecoveryCode).where(
                RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None)
            )
        )


class SqlClipRepository(_Repository[Clip]):
    model = Clip

    def find_by_sha256(self, camera_id: UUID, sha256: str) -> Clip | None:
        found = self._all(select(Clip).where(
            Clip.camera_id == camera_id, Clip.sha256 == sha256, Clip.deleted_at.is_(None)))
        return found[0] if found else None

    def list_for_owner(self, owner_id: UUID, *, limit: int = 500) -> Sequence[Clip]:
        return self._all(
            select(Clip).where(Clip.owner_id == owner_id, Clip.deleted_at.is_(None),
                               Clip.wrapped_key.is_not(None))  # shredded: gone to its owner
            .order_by(Clip.recorded_at.desc()).limit(limit)
        )

    def cameras_with_footage(
        self, camera_ids: Sequence[UUID], start: datetime, end: datetime
    ) -> set[UUID]:
        """Which of the cameras have a readable clip overlapping [start, end): three columns
        of the clips recorded before the end (``ix_clips_camera_recorded``), no entities;
        the overlap is finished here, since a clip ends at its start plus its duration."""
        found: set[UUID] = set()
        for first in range(0, len(camera_ids), _IN_CHUNK):
            rows = self.session.execute(
                select(Clip.camera_id, Clip.recorded_at, Clip.duration_seconds).where(
                    Clip.camera_id.in_(camera_ids[first:first + _IN_CHUNK]),
                    Clip.deleted_at.is_(None), Clip.wrapped_key.is_not(None),
                    Clip.recorded_at < end))
            found.update(camera_id for camera_id, recorded_at, seconds in rows
                         if recorded_at + timedelta(seconds=seconds) > start)
        return found

    def list_for_camera(self, camera_id: UUID) -> Sequence[Clip]:
        return self._all(
            select(Clip).where(Clip.camera_id == camera_id, Clip.deleted_at.is_(None),
                               Clip.wrapped_key.is_not(None))
            .order_by(Clip.recorded_at)
        )

    def expired(self, now: datetime, *, limit: int, readable: bool = False
                ) -> Sequence[Clip]:
        statement = select(Clip).where(Clip.expires_at <= now, Clip.deleted_at.is_(None))
        if readable:
            statement = statement.where(Clip.wrapped_key.is_not(None))
        return self._all(statement.order_by(Clip.expires_at, Clip.id).limit(limit))

    def count_expired(self, now: datetime) -> int:
        statement = select(func.count()).select_from(Clip).where(
            Clip.expires_at <= now, Clip.deleted_at.is_(None))
        return self.session.scalar(statement) or 0

    def known_object_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        rows = self.session.execute(select(Clip.object_key, Clip.poster_key).where(
            (Clip.object_key.in_(keys)) | (Clip.poster_key.in_(keys))))
        return {key for row in rows for key in row if key in keys}


class SqlVideoRequestRepository(_Repository[VideoRequest]):
    model = VideoRequest

    def list_for_agency(self, agency_id: UUID) -> Sequence[VideoRequest]:
        return self._all(select(VideoRequest).where(VideoRequest.agency_id == agency_id)
                         .order_by(VideoRequest.created_at.desc()))

    def awaiting_delivery(self) -> Sequence[VideoRequest]:
        return self._all(select(VideoRequest).where(
            VideoRequest.status == RequestStatus.OPEN, VideoRequest.delivered_at.is_(None)))

    def due_to_close(self, now: datetime) -> Sequence[VideoRequest]:
        return self._all(select(VideoRequest).where(
            VideoRequest.status == RequestStatus.OPEN, VideoRequest.deadline <= now))


class SqlDeliveryRepository(_Repository[Delivery]):
    model = Delivery

    def for_request(self, request_id: UUID) -> Sequence[Delivery]:
        return self._all(select(Delivery).where(Delivery.request_id == request_id))

    def for_resident(self, resident_id: UUID) -> Sequence[Delivery]:
        return self._all(select(Delivery).where(Delivery.resident_id == resident_id)
                         .order_by(Delivery.created_at.desc()))


class SqlConsentRepository(_Repository[Consent]):
    model = Consent

    def for_request(self, request_id: UUID) -> Sequence[Consent]:
        return self._all(select(Consent).where(Consent.request_id == request_id)
                         .order_by(Consent.created_at))

    def for_delivery(self, delivery_id: UUID) -> Consent | None:
        found = self._all(select(Consent).where(Consent.delivery_id == delivery_id))
        return found[0] if found else None



class SqlEvidenceRepository(_Repository[EvidenceItem]):
    model = EvidenceItem

    def for_request(self, request_id: UUID) -> Sequence[EvidenceItem]:
        return self._all(select(EvidenceItem).where(EvidenceItem.request_id == request_id)
                         .order_by(EvidenceItem.covers_from))

    def for_consent(self, consent_id: UUID) -> Sequence[EvidenceItem]:
        return self._all(select(EvidenceItem).where(EvidenceItem.consent_id == consent_id))

    def expired(self, now: datetime, limit: int) -> Sequence[EvidenceItem]:
        return self._all(select(EvidenceItem).where(
            EvidenceItem.purged_at.is_(None), EvidenceItem.expires_at <= now)
            .order_by(EvidenceItem.expires_at, EvidenceItem.id).limit(limit))

    def known_object_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        return set(self.session.scalars(select(EvidenceItem.object_key).where(
            EvidenceItem.object_key.in_(keys))))

    def for_resident(self, resident_id: UUID) -> Sequence[EvidenceItem]:
        """Every item made from the resident's clips — under a consent or a legal demand,
        re-shared copies included (a copy keeps its parent's clip) — oldest first."""
        return self._all(select(EvidenceItem).join(Clip, Clip.id == EvidenceItem.source_clip_id)
                         .where(Clip.owner_id == resident_id)
                         .order_by(EvidenceItem.received_at, EvidenceItem.id))

    def deletion_requested(self, agency_id: UUID) -> Sequence[EvidenceItem]:
        """The agency's items whose owner asked for deletion, answered or not."""
        return self._all(select(EvidenceItem).join(Consent, Consent.id == EvidenceItem.consent_id)
                         .where(EvidenceItem.agency_id == agency_id,
                                Consent.deletion_requested_at.is_not(None))
                         .order_by(Consent.deletion_requested_at, EvidenceItem.id))

    def received_by(self, agency_id: UUID) -> Sequence[EvidenceItem]:
        return self._all(select(EvidenceItem).where(
            EvidenceItem.agency_id == agency_id, EvidenceItem.parent_id.is_not(None))
            .order_by(EvidenceItem.received_at.desc(), EvidenceItem.id))

    def for_demand(self, demand_id: UUID) -> Sequence[EvidenceItem]:
        return self._all(select(EvidenceItem).where(EvidenceItem.legal_demand_id == demand_id)
                         .order_by(EvidenceItem.covers_from, EvidenceItem.id))


class SqlLegalDemandRepository(_Repository[LegalDemand]):
    model = LegalDemand

    def listed(self, agency_id: UUID | None = None) -> Sequence[LegalDemand]:
        statement = select(LegalDemand)
        if agency_id is not None:
            statement = statement.where(LegalDemand.agency_id == agency_id)
        return self._all(statement.order_by(LegalDemand.recorded_at.desc(), LegalDemand.id))

    def awaiting_notice(self) -> Sequence[LegalDemand]:
        return self._all(select(LegalDemand).where(
            LegalDemand.status == DemandStatus.FULFILLED, LegalDemand.notice_sent_at.is_(None))
            .order_by(LegalDemand.fulfilled_at, LegalDemand.id))

    def noticed(self) -> Sequence[LegalDemand]:
        return self._all(select(LegalDemand).where(LegalDemand.notice_sent_at.is_not(None))
                         .order_by(LegalDemand.notice_sent_at.desc(), LegalDemand.id))


class SqlEvidenceShareRepository(_Repository[EvidenceShare]):
    model = EvidenceShare

    def for_consent(self, consent_id: UUID) -> Sequence[EvidenceShare]:
        return self._all(select(EvidenceShare).where(EvidenceShare.consent_id == consent_id)
                         .order_by(EvidenceShare.shared_at, EvidenceShare.id))

    def for_evidence(self, evidence_id: UUID) -> Sequence[EvidenceShare]:
        return self._all(select(EvidenceShare).where(EvidenceShare.evidence_id == evidence_id)
                         .order_by(EvidenceShare.shared_at, EvidenceShare.id))

    def for_consents(self, consent_ids: Sequence[UUID]) -> Sequence[EvidenceShare]:
        return self._all(select(EvidenceShare).where(
            EvidenceShare.consent_id.in_(sorted(set(consent_ids))))
            .order_by(EvidenceShare.shared_at, EvidenceShare.id))


class SqlLegalHoldRepository(_Repository[LegalHold]):
    model = LegalHold

    def for_request(self, request_id: UUID) -> Sequence[LegalHold]:
        return self._all(select(LegalHold).where(LegalHold.request_id == request_id)
                         .order_by(LegalHold.set_at, LegalHold.id))

    def for_requests(self, request_ids: Sequence[UUID]) -> Sequence[LegalHold]:
        return self._all(select(LegalHold).where(
            LegalHold.request_id.in_(sorted(set(request_ids))))
            .order_by(LegalHold.set_at, LegalHold.id))


class SqlAuditEventRepository:
    """Reads of the audit events table (the unit of work writes them)."""

    def __init__(self, session: DbSession) -> None:
        self.session = session

    def count_recent(self, actor_ids: Sequence[UUID], kind: str, since: datetime) -> int:
        events = tables.audit_events.c  # the (actor, kind, time) index serves each actor
        return self.session.scalar(select(func.count()).where(
            events.actor_id.in_(list(actor_ids)), events.kind == kind,
            events.occurred_at >= since))


class SqlJobRepository(_Repository[Job]):
    model = Job

    def add_new(self, job: Job) -> bool:
        """One INSERT that does nothing when the key is taken, so two transactions adding
        the same job at once both go on (the second adds nothing)."""
        dialect = self.session.get_bind().dialect.name
        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        row = {column.name: getattr(job, column.name) for column in tables.jobs.columns}
        statement = (insert(tables.jobs).values(**row)
                     .on_conflict_do_nothing(index_elements=["key"])
                     .returning(tables.jobs.c.id))  # psycopg reports no rowcount here
        return self.session.execute(statement).first() is not None

    def by_key(self, key: str) -> Job | None:
        found = self._all(select(Job).where(Job.key == key))
        return found[0] if found else None

    def due(self, now: datetime, limit: int) -> Sequence[Job]:
        open_ = Job.state.in_([JobState.PENDING, JobState.RUNNING])
        due = or_(and_(Job.state == JobState.PENDING, Job.run_after <= now),
                  and_(Job.state == JobState.RUNNING, Job.claimed_until <= now))
        return self._all(select(Job).where(open_, due).order_by(Job.run_after).limit(limit))

    def delete_finished(self, before: datetime, limit: int) -> int:
        jobs = tables.jobs.c
        oldest = (select(jobs.id).where(jobs.state == JobState.DONE, jobs.finished_at < before)
                  .order_by(jobs.finished_at).limit(limit))
        ids = list(self.session.scalars(oldest))
        if ids:
            self.session.execute(delete(tables.jobs).where(jobs.id.in_(ids)))
        return len(ids)

    def listed(self, states: Sequence[JobState], limit: int) -> Sequence[Job]:
        return self._all(select(Job).where(Job.state.in_(list(states)))
                         .order_by(Job.created_at.desc()).limit(limit))


class SqlRedactedCopyRepository(_Repository[RedactedCopy]):
    model = RedactedCopy

    def for_clip(self, clip_id: UUID) -> Sequence[RedactedCopy]:
        return self._all(select(RedactedCopy).where(RedactedCopy.clip_id == clip_id)
                         .order_by(RedactedCopy.created_at.desc(), RedactedCopy.id))

    def for_clips(self, clip_ids: Sequence[UUID]) -> Sequence[RedactedCopy]:
        wanted, found = sorted(set(clip_ids)), []
        for first in range(0, len(wanted), _IN_CHUNK):
            found += self._all(select(RedactedCopy).where(
                RedactedCopy.clip_id.in_(wanted[first:first + _IN_CHUNK])))
        return sorted(found, key=lambda c: (c.created_at, str(c.id)), reverse=True)

    def unpurged_for_clip(self, clip_id: UUID) -> Sequence[RedactedCopy]:
        return self._all(select(RedactedCopy).where(
            RedactedCopy.clip_id == clip_id, RedactedCopy.status != CopyStatus.PURGED.value))

    def known_object_keys(self, keys: Sequence[str]) -> set[str]:
        return set(self.session.scalars(select(RedactedCopy.object_key).where(
            RedactedCopy.object_key.in_(list(keys)))))
