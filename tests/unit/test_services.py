"""Use cases against in-memory fakes: authorisation, events written on commit only."""

from __future__ import annotations

from uuid import uuid4

import pytest

from porchlight.accounts.domain.accounts import StaffRole
from porchlight.accounts.domain.agencies import AgencyKind
from porchlight.accounts.services import accounts
from porchlight.accounts.services.commands import (
    AddStaff,
    CreateAgency,
    CreatePlatformAdmin,
    RegisterResident,
    VerifyAgency,
)
from porchlight.footage.services import cameras
from porchlight.footage.services.commands import RegisterCamera, SetCameraOptIn
from porchlight.kernel.domain.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.domain.policies import SYSTEM
from porchlight.neighbourhood.services import summary as neighbourhood
from tests.unit.fakes import FakeUnitOfWork

HOME = LatLon(45.5122, -122.6587)


def _resident(uow: FakeUnitOfWork, email: str = "ana@example.org"):
    resident_id = accounts.register_resident(
        uow, RegisterResident(email, "Ana L", HOME)
    )
    with uow:
        return uow.accounts.get(resident_id)


def _agency(uow: FakeUnitOfWork) -> object:
    return accounts.create_agency(
        uow, SYSTEM, CreateAgency("Metro PD", AgencyKind.MUNICIPAL_POLICE, HOME, 5000)
    )


def test_registering_a_camera_stores_its_h3_cell_and_audits_it(uow: FakeUnitOfWork) -> None:
    ana = _resident(uow)
    camera_id = cameras.register_camera(
        uow, ana, RegisterCamera("Front door", HOME)
    )
    with uow:
        camera = uow.cameras.get(camera_id)
    assert camera.owner_id == ana.id
    assert camera.opted_in is False
    assert camera.h3_cell == cameras.h3_cell(HOME)
    assert camera.h3_cell.bit_length() <= 63  # fits a signed 64-bit column
    assert [e.kind for e in uow.audit] == ["account.created", "camera.registered"]


def test_the_h3_cell_is_resolution_ten() -> None:
    import h3

    cell = cameras.h3_cell(HOME)
    assert h3.get_resolution(h3.int_to_str(cell)) == 10


def test_a_failed_use_case_commits_nothing_and_audits_nothing(uow: FakeUnitOfWork) -> None:
    ana = _resident(uow)
    before = list(uow.audit)
    with pytest.raises(ValidationFailed):
        cameras.register_camera(uow, ana, RegisterCamera("", HOME))
    assert uow.audit == before
    assert uow.tables["cameras"] == {}


def test_another_resident_cannot_touch_or_even_see_my_camera(uow: FakeUnitOfWork) -> None:
    ana = _resident(uow)
    ben = _resident(uow, "ben@example.org")
    camera_id = cameras.register_camera(uow, ana, RegisterCamera("Door", HOME))
    with pytest.raises(NotFound) as denied:
        cameras.set_camera_opt_in(uow, ben, SetCameraOptIn(camera_id, True))
    with pytest.raises(NotFound) as missing:
        cameras.set_camera_opt_in(uow, ben, SetCameraOptIn(uuid4(), True))
    assert str(denied.value) == str(missing.value)  # no hint that the camera exists
    assert cameras.list_my_cameras(uow, ben) == []
    cameras.set_camera_opt_in(uow, ana, SetCameraOptIn(camera_id, True))
    assert [c.opted_in for c in cameras.list_my_cameras(uow, ana)] == [True]
    assert uow.audit[-1].kind == "camera.opted_in"


def test_only_residents_register_cameras(uow: FakeUnitOfWork) -> None:
    agency_id = _agency(uow)
    officer_id = accounts.add_staff(
        uow, SYSTEM, AddStaff(agency_id, "o@pd.example", "O", StaffRole.OFFICER)
    )
    with uow:
        officer = uow.accounts.get(officer_id)
    with pytest.raises(PermissionDenied):
        cameras.register_camera(uow, officer, RegisterCamera("Door", HOME))
    with pytest.raises(NotAuthenticated):
        cameras.register_camera(uow, None, RegisterCamera("Door", HOME))


def test_disabled_accounts_are_refused(uow: FakeUnitOfWork, clock) -> None:
    ana = _resident(uow)
    ana.disable(now=clock.now(), actor_id=None)
    with pytest.raises(PermissionDenied, match="disabled"):
        cameras.register_camera(uow, ana, RegisterCamera("Door", HOME))


def test_agencies_are_created_by_platform_admins_only(uow: FakeUnitOfWork) -> None:
    ana = _resident(uow)
    cmd = CreateAgency("Metro PD", AgencyKind.MUNICIPAL_POLICE, HOME, 5000)
    with pytest.raises(PermissionDenied):
        accounts.create_agency(uow, ana, cmd)
    admin_id = accounts.create_platform_admin(
        uow, SYSTEM, CreatePlatformAdmin("admin@example.org", "Admin")
    )
    with uow:
        admin = uow.accounts.get(admin_id)
    agency_id = accounts.create_agency(uow, admin, cmd)
    accounts.verify_agency(uow, admin, VerifyAgency(agency_id))
    assert uow.audit[-1].kind == "agency.verified"
    assert uow.audit[-1].actor_id == admin_id


def test_staff_are_added_by_their_own_agency_admin_only(uow: FakeUnitOfWork) -> None:
    x, y = _agency(uow), _agency(uow)
    admin_x_id = accounts.add_staff(
        uow, SYSTEM, AddStaff(x, "admin@x.example", "AX", StaffRole.AGENCY_ADMIN)
    )
    with uow:
        admin_x = uow.accounts.get(admin_x_id)
    with pytest.raises(PermissionDenied):
        accounts.add_staff(
            uow, admin_x, AddStaff(y, "o@y.example", "OY", StaffRole.OFFICER)
        )
    accounts.add_staff(uow, admin_x, AddStaff(x, "o@x.example", "OX", StaffRole.OFFICER))
    with uow:
        assert {a.email for a in uow.accounts.list_staff(x)} == {"admin@x.example", "o@x.example"}


def test_emails_are_unique_whatever_their_case(uow: FakeUnitOfWork) -> None:
    _resident(uow)
    with pytest.raises(Conflict):
        _resident(uow, "ANA@example.org")


def test_public_summary_counts_only(uow: FakeUnitOfWork) -> None:
    ana = _resident(uow)
    _agency(uow)
    cameras.register_camera(uow, ana, RegisterCamera("Door", HOME, opted_in=True))
    cameras.register_camera(uow, ana, RegisterCamera("Yard", HOME))
    found = neighbourhood.summary(uow)
    assert (found.residents, found.cameras, found.cameras_opted_in) == (1, 2, 1)
    assert [a.name for a in found.agencies] == ["Metro PD"]
