"""A small neighbourhood on the fakes for the request, consent and evidence use cases:
a verified agency with an officer and a supervisor, and residents with cameras and clips.
Everything goes through the services, as the app does it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

from porchlight.accounts.domain.accounts import Account, StaffRole
from porchlight.accounts.domain.agencies import AgencyKind
from porchlight.accounts.services import accounts
from porchlight.accounts.services.commands import (
    AddStaff,
    CreateAgency,
    RegisterResident,
    VerifyAgency,
)
from porchlight.footage.services import cameras, library
from porchlight.footage.services.commands import ReceivedFile, RegisterCamera, UploadClip
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.domain.policies import SYSTEM
from porchlight.kernel.services.messagebus import MessageBus
from porchlight.kernel.services.ports import VideoInfo
from porchlight.requests.domain.requests import IncidentType, RequestDraft, ScopePolicy
from porchlight.requests.services import video_requests
from porchlight.requests.services.commands import CreateVideoRequest
from porchlight.requests.services.video_requests import RequestsKit
from tests.unit.fakes import FakeFootageStore, FakeMailer, FakeUnitOfWork, FakeVideoTools, XorVault

HOME = LatLon(45.5122, -122.6587)
NEXT_DOOR = LatLon(45.5126, -122.6587)  # about 45 m north
ACROSS_TOWN = LatLon(45.5300, -122.6587)  # about 2 km north
CLIP_SECONDS = 12.0
INFO = VideoInfo(container="mp4", video_codec="h264", audio_codec=None, width=1280, height=720,
                 frame_rate=15.0, duration_seconds=CLIP_SECONDS, rotation=0)


@dataclass
class Town:
    uow: FakeUnitOfWork
    clock: FixedClock
    kit: RequestsKit
    footage: library.Footage
    workdir: Path
    agency_id: UUID
    officer: Account
    supervisor: Account
    other_agency_id: UUID
    residents: dict[str, Account] = field(default_factory=dict)
    cameras: dict[str, UUID] = field(default_factory=dict)

    @property
    def mailer(self) -> FakeMailer:
        return self.kit.mailer  # type: ignore[return-value]

    @property
    def store(self) -> FakeFootageStore:
        return self.footage.store  # type: ignore[return-value]

    @property
    def window_start(self) -> datetime:
        return self.clock.now() - timedelta(days=1)

    def draft(self, **changes: object) -> RequestDraft:
        start = self.window_start
        base = RequestDraft(
            case_number="24-1187", incident_type=IncidentType.BURGLARY, incident_other=None,
            incident_time=start + timedelta(minutes=30), location=HOME, radius_m=200,
            window_start=start, window_end=start + timedelta(hours=1),
            description="A house on Elm St was broken into between 8 and 9 pm.",
            retention_days=90, sharing_plan=(), contact="Det. Ruiz, 555-0100")
        return replace(base, **changes)

    def resident(self, name: str, at: LatLon = HOME, *, opted_in: bool = True) -> Account:
        resident_id = accounts.register_resident(
            self.uow, RegisterResident(f"{name}@example.org", name.title(), at))
        with self.uow:
            person = self.uow.accounts.get(resident_id)
        self.residents[name] = person
        self.cameras[name] = cameras.register_camera(
            self.uow, person, RegisterCamera(f"{name}'s door", at, opted_in=opted_in,
                                              retention_days=30))
        return person

    def clip(self, name: str, recorded_at: datetime, data: bytes | None = None) -> UUID:
        path = self.workdir / f"{uuid4().hex}.part"
        path.write_bytes(data or uuid4().bytes * 10)
        camera_id = self.cameras[name]
        return library.upload_clip(self.uow, self.footage, camera_id,
            UploadClip(camera_id, recorded_at, ReceivedFile(path, path.stat().st_size))).clip_id

    def open_request(self, **changes: object) -> UUID:
        """A request that goes out on the officer's word, delivered (the job run)."""
        request_id = video_requests.create_request(self.uow, self.kit, self.officer,
                                                   CreateVideoRequest(self.draft(**changes)))
        video_requests.deliver(self.uow, self.kit, request_id)
        return request_id

    def delivery_of(self, name: str, request_id: UUID) -> UUID:
        with self.uow.reading():
            [found] = [d for d in self.uow.deliveries.for_request(request_id)
                       if d.resident_id == self.residents[name].id]
            return found.id

    def audit_kinds(self) -> list[str]:
        return [event.kind for event in self.uow.audit]


def build_town(clock: FixedClock, workdir: Path, policy: ScopePolicy | None = None) -> Town:
    uow = FakeUnitOfWork(clock, bus=MessageBus())
    agency_id = _agency(uow, "Metro PD")
    other_agency_id = _agency(uow, "County Sheriff")
    staff = {}
    for role in (StaffRole.OFFICER, StaffRole.SUPERVISOR):
        staff_id = accounts.add_staff(uow, SYSTEM, AddStaff(
            agency_id, f"{role.value}@metro.example", role.value.title(), role), None)
        with uow:
            staff[role] = uow.accounts.get(staff_id)
    kit = RequestsKit(policy=policy or ScopePolicy(), mailer=FakeMailer(),
                      base_url="https://porchlight.test")
    kit_footage = library.Footage(store=FakeFootageStore(), video=FakeVideoTools(INFO),
                                  vault=XorVault(), max_upload_bytes=1_000_000)
    return Town(uow, clock, kit, kit_footage, workdir, agency_id, staff[StaffRole.OFFICER],
                staff[StaffRole.SUPERVISOR], other_agency_id)


def _agency(uow: FakeUnitOfWork, name: str) -> UUID:
    agency_id = accounts.create_agency(uow, SYSTEM, CreateAgency(
        name, AgencyKind.MUNICIPAL_POLICE, HOME, 5000))
    accounts.verify_agency(uow, SYSTEM, VerifyAgency(agency_id))
    return agency_id
