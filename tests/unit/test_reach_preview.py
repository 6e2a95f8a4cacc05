"""The reach preview's rounding and limits, on fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from porchlight.accounts.domain.accounts import StaffRole
from porchlight.accounts.domain.agencies import AgencyKind
from porchlight.accounts.services import accounts
from porchlight.accounts.services.commands import (
    AddStaff,
    CreateAgency,
    RegisterResident,
    VerifyAgency,
)
from porchlight.footage.services import cameras
from porchlight.footage.services.commands import RegisterCamera
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.domain.errors import PolicyRefused, TooManyRequests
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.domain.policies import SYSTEM
from porchlight.requests.domain.reach import rounded_reach
from porchlight.requests.domain.requests import ScopePolicy
from porchlight.requests.services.reach import preview_reach
from tests.unit.fakes import FakeUnitOfWork

HOME = LatLon(45.5122, -122.6587)


@pytest.mark.parametrize(("count", "text"), [
    (0, "fewer than 5 opted-in cameras"), (4, "fewer than 5 opted-in cameras"),
    (5, "5 to 9 opted-in cameras"), (9, "5 to 9 opted-in cameras"),
    (10, "10 to 14 opted-in cameras"), (23, "20 to 24 opted-in cameras"),
])
def test_the_reach_is_told_as_disclosure_allows(count: int, text: str) -> None:
    assert rounded_reach(count, 5).text == text


@given(st.integers(min_value=0, max_value=100_000), st.integers(min_value=1, max_value=50))
def test_a_rounded_reach_never_tells_more_than_its_group(count: int, group: int) -> None:
    reach = rounded_reach(count, group)
    if count < group:
        assert reach.at_least is None and reach.code == f"under_{group}"
    else:
        assert reach.at_least % group == 0 and reach.at_least <= count <= reach.at_most
        assert reach.at_most - reach.at_least == group - 1


def _officer(uow: FakeUnitOfWork, *, verified: bool = True):
    agency_id = accounts.create_agency(uow, SYSTEM, CreateAgency(
        "Metro PD", AgencyKind.MUNICIPAL_POLICE, HOME, 5000))
    if verified:
        accounts.verify_agency(uow, SYSTEM, VerifyAgency(agency_id))
    officer_id = accounts.add_staff(uow, SYSTEM, AddStaff(
        agency_id, "o@agency.example", "O", StaffRole.OFFICER, None), None)
    resident_id = accounts.register_resident(uow, RegisterResident(
        "r@example.org", "R", HOME))
    with uow:
        return uow.accounts.get(officer_id), uow.accounts.get(resident_id)


def test_the_preview_counts_opted_in_cameras_and_is_limited_per_account(
        uow: FakeUnitOfWork, clock: FixedClock) -> None:
    officer, resident = _officer(uow)
    for n in range(7):
        cameras.register_camera(uow, resident,
                                RegisterCamera(f"C{n}", HOME, opted_in=n < 6))
    policy = ScopePolicy(reach_previews=2, reach_preview_window=timedelta(minutes=10))
    assert preview_reach(uow, policy, officer, HOME, 100).text == "5 to 9 opted-in cameras"
    preview_reach(uow, policy, officer, HOME, 100)
    with pytest.raises(TooManyRequests):
        preview_reach(uow, policy, officer, HOME, 100)
    kinds = [e.kind for e in uow.audit if e.kind.startswith("request.reach")]
    assert kinds == ["request.reach_previewed"] * 2 + ["request.reach_refused"]
    clock.advance(timedelta(minutes=11))
    assert preview_reach(uow, policy, officer, HOME, 100).at_least == 5


def test_an_unverified_agency_cannot_preview(uow: FakeUnitOfWork) -> None:
    officer, _ = _officer(uow, verified=False)
    with pytest.raises(PolicyRefused, match="not been verified"):
        preview_reach(uow, ScopePolicy(), officer, HOME, 100)
    assert not [e for e in uow.audit if e.kind.startswith("request.reach")]
