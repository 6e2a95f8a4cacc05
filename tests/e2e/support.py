"""A test deployment with a cast of actors, and a browser-like client that handles CSRF.

The cast: resident A and B, agency X (officer, supervisor, agency admin), agency Y
(officer), a platform admin, and a disabled resident. Staff and the admin have TOTP
on, as the product requires. The clock is a FixedClock the tests move by hand.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pyotp
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from porchlight import bootstrap
from porchlight.accounts.domain.accounts import StaffRole
from porchlight.accounts.domain.agencies import AgencyKind
from porchlight.accounts.services import accounts, mfa, staff
from porchlight.accounts.services.commands import (
    AddStaff,
    CreateAgency,
    CreatePlatformAdmin,
    RegisterResident,
)
from porchlight.bootstrap import Container
from porchlight.config import Settings
from porchlight.entrypoints.app import create_app
from porchlight.entrypoints.auth import CSRF_COOKIE
from porchlight.footage.services import cameras, library
from porchlight.footage.services.commands import ReceivedFile, RegisterCamera, UploadClip
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.domain.policies import SYSTEM
from porchlight.kernel.services.ports import OutgoingMail
from porchlight.requests.domain.requests import IncidentType, RequestDraft

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HOME_A = LatLon(45.5122, -122.6587)
HOME_B = LatLon(45.5140, -122.6600)
PASSWORD = "correct horse battery staple"


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[OutgoingMail] = []

    def send(self, mail: OutgoingMail) -> None:
        self.sent.append(mail)

    def last_link(self, to: str) -> str:
        for mail in reversed(self.sent):
            if mail.to == to:
                return re.search(r"https?://\S+", mail.body).group(0)
        raise AssertionError(f"no mail to {to}")


@dataclass
class Person:
    key: str
    id: UUID
    email: str
    password: str = PASSWORD
    totp_secret: str | None = None


@dataclass
class Deployment:
    container: Container
    app: FastAPI
    clock: FixedClock
    mailer: RecordingMailer
    people: dict[str, Person] = field(default_factory=dict)
    agency_x: UUID | None = None
    agency_y: UUID | None = None
    camera_a: UUID | None = None

    def browser(self, base_url: str = "http://testserver") -> Browser:
        return Browser(self, base_url)

    def signed_in(self, key: str) -> Browser:
        browser = self.browser()
        browser.sign_in(self.people[key])
        return browser


class Browser(TestClient):
    """A TestClient that sends the CSRF token the way the site's forms do."""

    def __init__(self, deployment: Deployment, base_url: str = "http://testserver") -> None:
        super().__init__(deployment.app, base_url=base_url)
        self.deployment = deployment
        self.get("/healthz")  # receive the CSRF cookie like a first page view would

    def csrf(self) -> str:
        nonce = self.cookies.get(CSRF_COOKIE)
        key = self.deployment.app.state.csrf_key
        return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()

    def submit(self, path: str, data: dict | None = None, **kwargs):
        """POST a form with the CSRF token, as a browser would, without following redirects."""
        return self.post(path, data={**(data or {}), "csrf_token": self.csrf()},
                         follow_redirects=False, **kwargs)

    def totp(self, person: Person) -> str:
        self.deployment.clock.advance(timedelta(seconds=30))  # a fresh step: no replay
        return pyotp.TOTP(person.totp_secret).at(self.deployment.clock.now())

    def sign_in(self, person: Person) -> None:
        response = self.submit("/signin", {"email": person.email, "password": person.password})
        assert response.status_code == 303, response.text
        if person.totp_secret:
            second = self.submit("/signin/mfa", {"code": self.totp(person)})
            assert second.status_code == 303, second.text


def build_deployment(settings: Settings, engine: Engine | None = None,
                     mailer: RecordingMailer | None = None, redactor=None) -> Deployment:
    """``redactor``: a face redaction engine in place of the configured one."""
    clock = FixedClock(T0)
    mailer = mailer or RecordingMailer()
    container = bootstrap.build(settings, clock=clock, mailer=mailer, engine=engine,
                                redactor=redactor)
    container.migrate()
    deployment = Deployment(container, create_app(container=container), clock, mailer)
    _cast(deployment)
    return deployment


def _resident(d: Deployment, key: str, home: LatLon) -> Person:
    uow, sec = d.container.uow(), d.container.security
    email = f"{key}@example.org"
    account_id = accounts.register_resident(
        uow, RegisterResident(email, key.replace("_", " ").title(), home, PASSWORD),
        sec.passwords,
    )
    return Person(key, account_id, email)


def _with_totp(d: Deployment, person: Person) -> Person:
    uow, sec = d.container.uow(), d.container.security
    with uow:
        account = uow.accounts.get(person.id)
        secret = mfa.start_enrolment(sec, account)
        mfa.finish_enrolment(uow, sec, account, pyotp.TOTP(secret).at(d.clock.now()),
                             d.clock.now())
        account.totp_last_step = None
        uow.commit()
    person.totp_secret = secret
    return person


def _staff(d: Deployment, key: str, agency_id: UUID, role: StaffRole) -> Person:
    email = f"{key}@agency.example"
    account_id = accounts.add_staff(
        d.container.uow(), SYSTEM,
        AddStaff(agency_id, email, key.title(), role, PASSWORD), d.container.security.passwords,
    )
    return _with_totp(d, Person(key, account_id, email))


def _cast(d: Deployment) -> None:
    uow = d.container.uow()
    for key, home in (("resident_a", HOME_A), ("resident_b", HOME_B), ("disabled", HOME_B)):
        d.people[key] = _resident(d, key, home)
    d.agency_x = accounts.create_agency(uow, SYSTEM, CreateAgency(
        "Agency X Police", AgencyKind.MUNICIPAL_POLICE, HOME_A, 8000))
    d.agency_y = accounts.create_agency(uow, SYSTEM, CreateAgency(
        "Agency Y Sheriff", AgencyKind.COUNTY_SHERIFF, HOME_A, 30000))
    for key, agency, role in (("officer_x", d.agency_x, StaffRole.OFFICER),
                              ("supervisor_x", d.agency_x, StaffRole.SUPERVISOR),
                              ("admin_x", d.agency_x, StaffRole.AGENCY_ADMIN),
                              ("officer_y", d.agency_y, StaffRole.OFFICER)):
        d.people[key] = _staff(d, key, agency, role)
    admin_id = accounts.create_platform_admin(uow, SYSTEM, CreatePlatformAdmin(
        "platform@example.org", "Platform Admin", PASSWORD),
        d.container.security.passwords)
    d.people["platform_admin"] = _with_totp(d, Person("platform_admin", admin_id,
                                                      "platform@example.org"))
    with uow:
        resident_a = uow.accounts.get(d.people["resident_a"].id)
    d.camera_a = cameras.register_camera(
        uow, resident_a, RegisterCamera("Porch", HOME_A, opted_in=True))


def disable(d: Deployment, key: str) -> None:
    staff.disable_account(d.container.uow(), SYSTEM, d.people[key].id)


def actor(d: Deployment, key: str):
    with d.container.uow() as uow:
        return uow.accounts.get(d.people[key].id)


def add_camera_with_clips(d: Deployment, key: str, where: LatLon, clips: list[Path],
                          starts: list[timedelta], opted_in: bool = True):
    """A camera of ``key``'s with the clips uploaded, recorded ``starts`` before now."""
    camera_id = cameras.register_camera(
        d.container.uow(), actor(d, key),
        RegisterCamera("Cam", where, opted_in=opted_in))
    made = []
    for path, start in zip(clips, starts, strict=True):
        received = ReceivedFile(path, path.stat().st_size)
        made.append(library.upload_clip(d.container.uow(), d.container.footage, camera_id,
            UploadClip(camera_id, d.clock.now() - start, received)).clip_id)
    return camera_id, made


def draft(d: Deployment, **changes) -> RequestDraft:
    """A request that goes out on the officer's word: 1 h window ending 2 h ago, 250 m."""
    start = d.clock.now() - timedelta(hours=3)
    values = dict(
        case_number="24-0042", incident_type=IncidentType.BURGLARY, incident_other=None,
        incident_time=start + timedelta(minutes=20), location=HOME_A, radius_m=250,
        window_start=start, window_end=start + timedelta(hours=1),
        description="A garage on Alder St was broken into; we are looking for a grey van.",
        retention_days=90, sharing_plan=(), contact="Det. Ruiz, 555-0100")
    values.update(changes)
    return RequestDraft(**values)


def one_clip(tmp_path_factory, name: str) -> list[Path]:
    """One short real clip (2 s, 320x180) in a folder of the session's, for a module."""
    from porchlight.footage.adapters.video.demo import make_demo_clip  # loads FFmpeg

    folder = tmp_path_factory.mktemp(name)
    return [make_demo_clip(folder / "0.mp4", seconds=2, width=320, height=180, seed=0)]


def verified_deployment(settings: Settings, *, only_x: bool = False,
                        redactor=None) -> Deployment:
    """The cast with agency X (and Y, unless ``only_x``) verified, so they may ask."""
    deployment = build_deployment(settings, redactor=redactor)
    with deployment.container.uow() as uow:
        agencies = (deployment.agency_x,) if only_x else (deployment.agency_x,
                                                          deployment.agency_y)
        for agency_id in agencies:
            uow.agencies.get(agency_id).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    return deployment
