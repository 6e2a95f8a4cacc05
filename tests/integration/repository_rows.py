"""Entities with every column filled, linked as the foreign keys require, for contract tests."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from porchlight.accounts.domain.accounts import Account, AccountKind, StaffRole
from porchlight.accounts.domain.agencies import Agency, AgencyKind
from porchlight.accounts.domain.auth import (
    ApiToken,
    DeviceToken,
    OneTimeToken,
    RecoveryCode,
    Session,
    TokenPurpose,
)
from porchlight.custody.domain.evidence import EvidenceItem
from porchlight.custody.domain.holds import LegalHold
from porchlight.footage.domain.cameras import Camera
from porchlight.footage.domain.clips import Clip
from porchlight.footage.services.cameras import h3_cell
from porchlight.jobs.domain.jobs import Job, JobState
from porchlight.kernel.domain.geo import LatLon
from porchlight.requests.domain.consent import Consent, Delivery, DeliveryStatus
from porchlight.requests.domain.requests import IncidentType, RequestStatus, VideoRequest

HOME = LatLon(45.5122, -122.6587)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def agency(now: datetime, name: str = "Metro PD") -> Agency:
    return Agency(id=uuid4(), name=name, kind=AgencyKind.MUNICIPAL_POLICE,
                  center_lat=HOME.lat, center_lon=HOME.lon, radius_m=5000, created_at=now,
                  verified_at=now)


def resident(now: datetime, email: str | None = None, name: str = "Ana") -> Account:
    return Account(id=uuid4(), email=email or f"{uuid4().hex[:12]}@example.org",
                   display_name=name, kind=AccountKind.RESIDENT, created_at=now,
                   home_lat=HOME.lat, home_lon=HOME.lon, failed_signins=[])


def staff(now: datetime, agency_id: UUID, name: str) -> Account:
    return Account(id=uuid4(), email=f"{uuid4().hex[:12]}@agency.example", display_name=name,
                   kind=AccountKind.STAFF, created_at=now, agency_id=agency_id,
                   staff_role=StaffRole.OFFICER, failed_signins=[])


def camera(now: datetime, owner_id: UUID, at: LatLon = HOME, *, opted_in: bool = True
           ) -> Camera:
    return Camera(id=uuid4(), owner_id=owner_id, name="Door", lat=at.lat, lon=at.lon,
                  h3_cell=h3_cell(at), created_at=now, opted_in=opted_in, retention_days=30)


def clip(cam: Camera, recorded_at: datetime, *, seconds: float = 60.0,
         expires_at: datetime | None = None, sha: str | None = None) -> Clip:
    clip_id = uuid4()
    return Clip(id=clip_id, camera_id=cam.id, owner_id=cam.owner_id, recorded_at=recorded_at,
                received_at=recorded_at, expires_at=expires_at or recorded_at + timedelta(30),
                sha256=sha or digest(str(clip_id)), size_bytes=1000, container="mp4",
                video_codec="h264", audio_codec=None, width=640, height=480, frame_rate=15.0,
                duration_seconds=seconds, rotation=0, object_key=f"clips/{clip_id}.video",
                poster_key=f"clips/{clip_id}.jpg", wrapped_key=b"wrapped")


def request(now: datetime, agency_id: UUID, officer_id: UUID, *,
            status: RequestStatus = RequestStatus.OPEN, deadline: datetime | None = None,
            created_at: datetime | None = None) -> VideoRequest:
    start = now - timedelta(days=1)
    return VideoRequest(
        id=uuid4(), agency_id=agency_id, created_by=officer_id, case_number="24-1187",
        incident_type=IncidentType.BURGLARY, incident_other=None,
        incident_time=start + timedelta(minutes=30), lat=HOME.lat, lon=HOME.lon, radius_m=200,
        window_start=start, window_end=start + timedelta(hours=1),
        description="A house on Elm St was broken into.", retention_days=90, sharing_plan=[],
        contact="Det. Ruiz", status=status, created_at=created_at or now,
        deadline=deadline if deadline is not None else now + timedelta(days=7))


def delivery(now: datetime, request_id: UUID, resident_id: UUID, cameras: list[UUID]
             ) -> Delivery:
    return Delivery(id=uuid4(), request_id=request_id, resident_id=resident_id,
                    camera_ids=[str(c) for c in cameras], created_at=now,
                    status=DeliveryStatus.WAITING)


def consent(now: datetime, given: Delivery, agency_id: UUID, clips: list[UUID]) -> Consent:
    return Consent(id=uuid4(), delivery_id=given.id, request_id=given.request_id,
                   resident_id=given.resident_id, agency_id=agency_id,
                   clip_ids=[str(c) for c in clips], scope="this_agency", share_contact=False,
                   disclosure_sha256=digest("disclosure"), created_at=now)


def evidence(now: datetime, of: Consent, source: Clip, covers_from: datetime) -> EvidenceItem:
    item_id = uuid4()
    return EvidenceItem(
        id=item_id, consent_id=of.id, request_id=of.request_id, agency_id=of.agency_id,
        source_clip_id=source.id, source_sha256=source.sha256, sha256=digest(str(item_id)),
        size_bytes=500, container="mp4", start_offset_seconds=0.0, end_offset_seconds=30.0,
        covers_from=covers_from, covers_to=covers_from + timedelta(seconds=30),
        object_key=f"evidence/{item_id}.video", wrapped_key=b"wrapped", received_at=now,
        expires_at=now + timedelta(days=90))


def hold(now: datetime, of: VideoRequest, supervisor_id: UUID, *, days: int = 30) -> LegalHold:
    return LegalHold(id=uuid4(), request_id=of.id, agency_id=of.agency_id, set_by=supervisor_id,
                     set_by_role="supervisor", set_at=now, until=now + timedelta(days=days),
                     reason="Kept for the trial of case 1.", reason_nonce="00" * 16)


def session(now: datetime, account_id: UUID, *, ended: bool = False) -> Session:
    return Session(id=uuid4(), account_id=account_id, token_hash=digest(uuid4().hex),
                   csrf_secret="c" * 64, created_at=now, last_seen_at=now,
                   ended_at=now if ended else None, end_reason="signed_out" if ended else None)


def api_token(now: datetime, account_id: UUID) -> ApiToken:
    return ApiToken(id=uuid4(), account_id=account_id, name="script",
                    token_hash=digest(uuid4().hex), scopes=["read"], created_at=now)


def device_token(now: datetime, camera_id: UUID) -> DeviceToken:
    return DeviceToken(id=uuid4(), camera_id=camera_id, token_hash=digest(uuid4().hex),
                       created_at=now)


def one_time_token(now: datetime, account_id: UUID, *, used: bool = False) -> OneTimeToken:
    return OneTimeToken(id=uuid4(), account_id=account_id, purpose=TokenPurpose.RESET_PASSWORD,
                        token_hash=digest(uuid4().hex), created_at=now,
                        expires_at=now + timedelta(hours=1), used_at=now if used else None)


def recovery_code(now: datetime, account_id: UUID, *, used: bool = False) -> RecoveryCode:
    return RecoveryCode(id=uuid4(), account_id=account_id, code_hash=digest(uuid4().hex),
                        created_at=now, used_at=now if used else None)


def job(now: datetime, key: str, *, state: JobState = JobState.PENDING,
        run_after: datetime | None = None, claimed_until: datetime | None = None,
        created_at: datetime | None = None) -> Job:
    return Job(id=uuid4(), kind="request.deliver", args={"request_id": key}, key=key,
               created_at=created_at or now, run_after=run_after or now, state=state,
               claimed_until=claimed_until)
