"""Rules of the first domain slice: accounts, agencies, cameras, geography and events."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar
from uuid import uuid4

import pytest

from porchlight.accounts.domain.accounts import (
    Account,
    AccountCreated,
    AccountKind,
    StaffRole,
    StaffRoleChanged,
    normalise_email,
)
from porchlight.accounts.domain.agencies import Agency, AgencyKind
from porchlight.footage.domain.cameras import (
    Camera,
    CameraOptedIn,
    CameraOptedOut,
    CameraRegistered,
)
from porchlight.kernel.domain.errors import Conflict, ValidationFailed
from porchlight.kernel.domain.events import DomainEvent, PersonalDataInAuditEvent
from porchlight.kernel.domain.geo import EARTH_RADIUS_M, LatLon, haversine_m

NOW = datetime(2026, 11, 1, tzinfo=UTC)
HOME = LatLon(45.5, -122.6)


def _camera(**overrides: object) -> Camera:
    args = dict(id=uuid4(), owner_id=uuid4(), name="Front door", location=HOME,
                h3_cell=622236750694711295, now=NOW)
    args.update(overrides)
    return Camera.register(**args)


def test_a_camera_is_not_opted_in_unless_its_owner_says_so() -> None:
    camera = _camera()
    assert camera.opted_in is False
    [event] = camera.pull_events()
    assert isinstance(event, CameraRegistered)
    assert event.opted_in is False
    assert event.actor_id == camera.owner_id


def test_opting_in_and_out_records_one_event_per_real_change() -> None:
    camera = _camera()
    camera.pull_events()
    camera.set_opted_in(True, actor_id=camera.owner_id)
    camera.set_opted_in(True, actor_id=camera.owner_id)
    camera.set_opted_in(False, actor_id=camera.owner_id)
    assert [type(e) for e in camera.pull_events()] == [CameraOptedIn, CameraOptedOut]
    assert camera.pull_events() == []


@pytest.mark.parametrize("days", [0, 1, 14, 59, 61, 365])
def test_camera_retention_must_be_one_of_the_offered_choices(days: int) -> None:
    with pytest.raises(ValidationFailed, match="retention"):
        _camera(retention_days=days)


@pytest.mark.parametrize("name", ["", "   ", "x" * 61])
def test_camera_name_length_is_checked(name: str) -> None:
    with pytest.raises(ValidationFailed):
        _camera(name=name)


def test_camera_default_retention_is_sixty_days() -> None:
    assert _camera().retention_days == 60


@pytest.mark.parametrize(("lat", "lon"), [(91, 0), (-90.5, 0), (0, 180.1), (math.nan, 0),
                                          (0, math.inf)])
def test_latlon_rejects_impossible_coordinates(lat: float, lon: float) -> None:
    with pytest.raises(ValidationFailed):
        LatLon(lat, lon)


def test_haversine_uses_the_mean_earth_radius() -> None:
    one_degree = haversine_m(LatLon(0, 0), LatLon(1, 0))
    assert one_degree == pytest.approx(math.pi / 180 * EARTH_RADIUS_M, rel=1e-12)
    assert haversine_m(HOME, HOME) == 0
    # symmetric, and a quarter of the equator is a quarter of the circumference
    a, b = LatLon(0, 20), LatLon(0, 110)
    assert haversine_m(a, b) == pytest.approx(math.pi / 2 * EARTH_RADIUS_M, rel=1e-12)
    assert haversine_m(HOME, a) == pytest.approx(haversine_m(a, HOME))


@pytest.mark.parametrize("raw", ["not-an-email", "a@b", "a b@c.org", "@example.org", ""])
def test_bad_email_addresses_are_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed):
        normalise_email(raw)


def test_email_is_normalised() -> None:
    assert normalise_email("  Ana@Example.ORG ") == "ana@example.org"


def test_staff_account_records_creation_and_role() -> None:
    admin, agency_id = uuid4(), uuid4()
    staff = Account.staff(id=uuid4(), email="o@pd.example", display_name="Officer O",
                          agency_id=agency_id, role=StaffRole.OFFICER, now=NOW, actor_id=admin)
    created, role = staff.pull_events()
    assert isinstance(created, AccountCreated) and created.agency_id == agency_id
    assert isinstance(role, StaffRoleChanged) and role.role == "officer"
    assert created.actor_id == admin
    staff.set_staff_role(StaffRole.SUPERVISOR, actor_id=admin)
    [changed] = staff.pull_events()
    assert changed.role == "supervisor"


def test_only_staff_have_roles_and_disabling_is_once() -> None:
    resident = Account.resident(id=uuid4(), email="r@example.org", display_name="R",
                                home=HOME, now=NOW)
    assert resident.kind is AccountKind.RESIDENT
    with pytest.raises(ValidationFailed):
        resident.set_staff_role(StaffRole.OFFICER, actor_id=None)
    resident.disable(now=NOW, actor_id=None)
    assert resident.is_disabled
    with pytest.raises(Conflict):
        resident.disable(now=NOW, actor_id=None)


def test_agency_validation_and_verification() -> None:
    with pytest.raises(ValidationFailed):
        Agency.create(id=uuid4(), name="X", kind=AgencyKind.STATE, center=HOME, radius_m=5000,
                      now=NOW, actor_id=None)
    with pytest.raises(ValidationFailed):
        Agency.create(id=uuid4(), name="Metro PD", kind=AgencyKind.STATE, center=HOME,
                      radius_m=10, now=NOW, actor_id=None)
    agency = Agency.create(id=uuid4(), name="Metro PD", kind=AgencyKind.MUNICIPAL_POLICE,
                           center=HOME, radius_m=5000, now=NOW, actor_id=None)
    assert not agency.is_verified
    agency.verify(now=NOW, actor_id=None)
    assert agency.verified_at == NOW
    with pytest.raises(Conflict):
        agency.verify(now=NOW, actor_id=None)
    assert [e.kind for e in agency.pull_events()] == ["agency.created", "agency.verified"]


def test_audit_payload_keeps_ids_and_codes() -> None:
    camera = _camera()
    [event] = camera.pull_events()
    payload = event.audit_payload()
    assert payload["camera_id"] == str(camera.id)
    assert "h3_cell" not in payload  # a camera's cell locates a home: never in the public log
    assert "actor_id" not in payload  # stored in its own column


@dataclass(frozen=True, kw_only=True)
class _Leaky(DomainEvent):
    kind: ClassVar[str] = "test.leaky"
    note: str


@pytest.mark.parametrize("value", ["ana@example.org", "Ana Lopez", "12 Elm Street",
                                   "x" * 65, "UPPER"])
def test_audit_payload_refuses_anything_that_could_be_personal_data(value: str) -> None:
    with pytest.raises(PersonalDataInAuditEvent):
        _Leaky(note=value).audit_payload()


def test_audit_payload_accepts_digests_and_codes() -> None:
    assert _Leaky(note="a" * 64).audit_payload() == {"note": "a" * 64}
    assert _Leaky(note="policy.radius_too_large").audit_payload()["note"] == (
        "policy.radius_too_large"
    )
