"""The demo neighbourhood: a street grid of homes, cameras, two local agencies and a federal one.

Deterministic (a seeded random generator) so screenshots and walkthroughs match; the demo
logins get random passwords that the caller shows only in development.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import pyotp

from porchlight.accounts.domain.accounts import StaffRole
from porchlight.accounts.domain.agencies import AgencyKind
from porchlight.accounts.services import accounts, mfa
from porchlight.accounts.services.commands import (
    AddStaff,
    CreateAgency,
    CreatePlatformAdmin,
    RegisterResident,
    VerifyAgency,
)
from porchlight.accounts.services.credentials import Security
from porchlight.feed.domain.posts import Category
from porchlight.feed.services import posting
from porchlight.footage.services import cameras, library
from porchlight.footage.services.commands import ReceivedFile, RegisterCamera, UploadClip
from porchlight.footage.services.library import Footage
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.domain.policies import SYSTEM
from porchlight.kernel.services.ports import PasswordHasher, UnitOfWork

CENTRE = LatLon(45.5122, -122.6587)  # a made-up grid of streets; no real homes are modelled
STREETS = ("Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Ginkgo", "Hazel", "Ivy", "Juniper")
AVENUES = 12
BLOCK_M = 80.0
HOMES_PER_BLOCK_SIDE = 3
FIRST_NAMES = ("Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ines", "Jon", "Kiri",
               "Luis", "Maya", "Nils", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tomas", "Uma")
LAST_INITIALS = "ABCDEFGHJKLMNPRSTW"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    totp_secret: str | None = None


@dataclass(frozen=True)
class DemoResult:
    homes: int
    cameras: int
    logins: list[DemoLogin]
    clips: int = 0


ClipMaker = Callable[[Path, int, str], Path]
"""make_clip(path, seed, label) writes a short real H.264 clip at path."""


def seed_clips(
    uow: UnitOfWork, kit: Footage, make_clip: ClipMaker, workdir: Path,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Give resident A and B three clips each, and a dozen other cameras one, over 3 days.

    The clips go through the same upload use case a camera's would: probed, encrypted,
    stored, audited.
    """
    with uow.reading():
        residents = [uow.accounts.get_by_email(f"home{i:03d}@demo.porchlight.invalid")
                     for i in range(0, 60)]
        plan = []
        for index, owner in enumerate(r for r in residents if r is not None):
            owned = list(uow.cameras.list_by_owner(owner.id))
            per_camera = 3 if index < 2 else 1
            plan.extend((camera.id, n) for camera in owned[:1] for n in range(per_camera))
        now = uow.clock.now()
    plan = plan[:20]
    for done, (camera_id, n) in enumerate(plan, start=1):
        _upload_demo(uow, kit, make_clip, workdir, camera_id, n, done, now)
        if progress:
            progress(done, len(plan))
    return len(plan)


def _upload_demo(
    uow: UnitOfWork, kit: Footage, make_clip: ClipMaker, workdir: Path, camera_id: UUID,
    n: int, seed: int, now: datetime,
) -> None:
    # yesterday evening, the evening before, and so on: overlapping windows across homes
    recorded = (now - timedelta(days=n + 1)).replace(hour=20, minute=(seed * 7) % 50, second=0,
                                                     microsecond=0)
    path = make_clip(workdir / f"demo-{seed}.mp4", seed, recorded.strftime("%a %H:%M"))
    received = ReceivedFile(path, path.stat().st_size)
    try:
        library.upload_clip(uow, kit, camera_id, UploadClip(camera_id, recorded, received))
    finally:
        path.unlink(missing_ok=True)


def _offset(origin: LatLon, north_m: float, east_m: float) -> LatLon:
    dlat = north_m / 111_320.0
    dlon = east_m / (111_320.0 * math.cos(math.radians(origin.lat)))
    return LatLon(round(origin.lat + dlat, 7), round(origin.lon + dlon, 7))


def home_locations() -> list[LatLon]:
    """Homes on both sides of each street, a few per block."""
    homes = []
    for s in range(len(STREETS)):
        for block in range(AVENUES):
            for k in range(HOMES_PER_BLOCK_SIDE):
                for side in (-1, 1):
                    east = (block + (k + 0.5) / HOMES_PER_BLOCK_SIDE) * BLOCK_M - AVENUES * 40
                    north = s * BLOCK_M - len(STREETS) * 40 + side * 12
                    homes.append(_offset(CENTRE, north, east))
    return homes


def _password() -> str:
    return "demo-" + secrets.token_urlsafe(9)


def _login(role: str, email: str, logins: list[DemoLogin]) -> str:
    password = _password()
    logins.append(DemoLogin(role=role, email=email, password=password))
    return password


def _enrol_totp(uow: UnitOfWork, sec: Security, account_id: UUID, logins: list[DemoLogin]) -> None:
    """Turn two-step sign-in on for a demo login and remember its secret for the printout."""
    with uow:
        account = uow.accounts.get(account_id)
        now = uow.clock.now()
        account.email_verified_at = now
        secret = mfa.start_enrolment(sec, account)
        mfa.finish_enrolment(uow, sec, account, pyotp.TOTP(secret).at(now), now)
        account.totp_last_step = None  # so the newcomer's first code is not taken for a replay
        uow.commit()
    login = logins.pop()
    logins.append(DemoLogin(login.role, login.email, login.password, totp_secret=secret))


def _mark_verified(uow: UnitOfWork, account_id: UUID) -> None:
    with uow:
        account = uow.accounts.get(account_id)
        account.email_verified_at = uow.clock.now()
        uow.commit()


def _agencies(uow: UnitOfWork, sec: Security, logins: list[DemoLogin]) -> None:
    specs = (
        ("Riverside Police Department", AgencyKind.MUNICIPAL_POLICE, "rpd", 6_000),
        ("Willow County Sheriff's Office", AgencyKind.COUNTY_SHERIFF, "sheriff", 30_000),
        ("Federal Investigations Office", AgencyKind.FEDERAL, "federal", 400_000),
    )
    for name, kind, slug, radius in specs:
        agency_id = accounts.create_agency(
            uow, SYSTEM, CreateAgency(name, kind, CENTRE, radius)
        )
        accounts.verify_agency(uow, SYSTEM, VerifyAgency(agency_id))
        roles = (StaffRole.AGENCY_ADMIN, StaffRole.SUPERVISOR, StaffRole.OFFICER)
        # the federal office: an officer, and a supervisor to answer what it receives
        # (deletion requests, an emergency's documentation)
        for role in roles if kind is not AgencyKind.FEDERAL else (StaffRole.SUPERVISOR,
                                                                   StaffRole.OFFICER):
            email = f"{role.value.replace('_', '-')}@{slug}.demo.porchlight.invalid"
            password = _login(f"{name}: {role.value.replace('_', ' ')}", email, logins)
            display = f"{slug.upper()} {role.value.replace('_', ' ').title()}"
            staff_id = accounts.add_staff(
                uow, SYSTEM, AddStaff(agency_id, email, display, role, password),
                sec.passwords,
            )
            _enrol_totp(uow, sec, staff_id, logins)


def seed(
    uow: UnitOfWork, sec: Security, progress: Callable[[int, int], None] | None = None
) -> DemoResult:
    """Create the demo neighbourhood; ``progress(done, total)`` is told as homes are added."""
    rng = random.Random(20261126)  # noqa: S311 - demo data, not security
    logins: list[DemoLogin] = []
    admin_email = "admin@demo.porchlight.invalid"
    admin_password = _login("platform admin", admin_email, logins)
    admin_id = accounts.create_platform_admin(
        uow, SYSTEM,
        CreatePlatformAdmin(admin_email, "Platform Admin", admin_password), sec.passwords,
    )
    _enrol_totp(uow, sec, admin_id, logins)
    _agencies(uow, sec, logins)
    homes = home_locations()
    camera_count = 0
    for index, location in enumerate(homes):
        camera_count += _home(uow, sec.passwords, rng, index, location, logins)
        if progress:
            progress(index + 1, len(homes))
    seed_feed(uow)
    return DemoResult(homes=len(homes), cameras=camera_count, logins=logins)


FEED_POSTS = (  # (home index, category, title, description)
    (5, Category.PET, "Found: a grey cat with a red collar",
     "Friendly, very hungry. Sitting on our steps on Birch since this morning."),
    (40, Category.COMMUNITY, "Street tree planting on Saturday",
     "Bring gloves; the city brings the trees. We start at 10 at the Cedar corner."),
    (130, Category.SAFETY, "Loose paving stone on the Elm footpath",
     "Someone tripped on it last night. Reported to the city; take care after dark."),
    (300, Category.UNEXPECTED, "Loud bang around 11 pm",
     "Anyone know what it was? Sounded like it came from the park side."),
)


def seed_feed(uow: UnitOfWork) -> int:
    """A few text posts from the demo homes and one public-safety notice from the
    Riverside police (posted by its supervisor): the Neighbors feed is not empty."""
    with uow.reading():
        authors = {index: uow.accounts.get_by_email(f"home{index:03d}@demo.porchlight.invalid")
                   for index, *_ in FEED_POSTS}
        supervisor = uow.accounts.get_by_email("supervisor@rpd.demo.porchlight.invalid")
    for index, category, title, description in FEED_POSTS:
        author = authors[index]
        post_id = posting.draft_post(uow, author, posting.DraftPost(category, title,
                                                                    description))
        posting.publish(uow, author, post_id)
    posting.publish_public_safety(uow, supervisor, posting.PublicSafetyPost(
        Category.SAFETY, "Water main repair: Dogwood closed Monday",
        "Crews work 7 am to 5 pm; use Elm or Fir. No parking on Dogwood from Sunday night.",
        CENTRE, 1500))
    return len(FEED_POSTS) + 1


def _home(
    uow: UnitOfWork,
    hasher: PasswordHasher,
    rng: random.Random,
    index: int,
    location: LatLon,
    logins: list[DemoLogin],
) -> int:
    named = {0: "resident A", 1: "resident B"}
    email = f"home{index:03d}@demo.porchlight.invalid"
    password = _login(named[index], email, logins) if index in named else None
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_INITIALS)}."
    resident_id = accounts.register_resident(
        uow, RegisterResident(email, name, location, password), hasher
    )
    if index in named:
        _mark_verified(uow, resident_id)
    if index not in named and rng.random() > 0.6:
        return 0
    return _cameras(uow, rng, resident_id, location, always_opt_in=index in named)


def _cameras(
    uow: UnitOfWork, rng: random.Random, resident_id: UUID, home: LatLon, *, always_opt_in: bool
) -> int:
    with uow.reading():
        owner = uow.accounts.get(resident_id)
    names = ["Front door", "Driveway", "Back yard"][: 1 + int(rng.random() > 0.7)]
    for offset, name in enumerate(names):
        cmd = RegisterCamera(
            name=name,
            location=_offset(home, 3.0 * offset, 2.0 * offset),
            opted_in=always_opt_in or rng.random() < 0.5,
            retention_days=rng.choice((30, 60, 60, 60, 180)),
        )
        cameras.register_camera(uow, owner, cmd)
    return len(names)
