"""The officer's reach preview: rounded as disclosure allows, staff only, audited, limited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from porchlight.config import Settings
from porchlight.footage.services import cameras
from porchlight.footage.services.commands import RegisterCamera
from porchlight.kernel.adapters.db import tables
from porchlight.kernel.domain.geo import LatLon
from tests.e2e.support import HOME_A, Deployment, actor, build_deployment

URL = "/api/v1/requests/reach"
HERE = {"lat": HOME_A.lat, "lon": HOME_A.lon, "radius_m": 200}


def _deployment(settings: Settings) -> Deployment:
    deployment = build_deployment(settings)
    with deployment.container.uow() as uow:
        uow.agencies.get(deployment.agency_x).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    return deployment


@pytest.fixture
def d(settings: Settings) -> Deployment:
    return _deployment(settings)


def _cameras(d: Deployment, count: int, *, opted_in: bool = True, metres: float = 0) -> None:
    """``count`` cameras of resident B's, ``metres`` north of home A (one is there already)."""
    where = LatLon(HOME_A.lat + metres / 111_195, HOME_A.lon)
    for n in range(count):
        cameras.register_camera(d.container.uow(), actor(d, "resident_b"), RegisterCamera(
            f"Cam {n}", where, opted_in=opted_in))


def _events(d: Deployment, kind: str) -> list:
    with d.container.engine.connect() as connection:
        return connection.execute(select(tables.audit_events).where(
            tables.audit_events.c.kind == kind).order_by(tables.audit_events.c.id)).all()


def test_the_count_is_told_only_from_five_and_rounded_down_to_fives(d: Deployment) -> None:
    officer = d.signed_in("officer_x")
    few = officer.get(URL, params=HERE).json()  # resident A's camera alone
    assert few == {"radius_m": 200, "at_least": None, "at_most": None, "fewer_than": 5,
                   "text": "fewer than 5 opted-in cameras"}
    _cameras(d, 6)
    _cameras(d, 3, opted_in=False)  # never counted
    _cameras(d, 5, metres=400)  # outside the circle
    assert officer.get(URL, params=HERE).json()["text"] == "5 to 9 opted-in cameras"
    _cameras(d, 3)
    ten = officer.get(URL, params=HERE).json()
    assert (ten["at_least"], ten["at_most"], ten["fewer_than"]) == (10, 14, None)
    wide = officer.get(URL, params={**HERE, "radius_m": 450}).json()
    assert wide["text"] == "15 to 19 opted-in cameras"  # the 5 further north too


def test_the_circle_must_be_one_a_request_could_have(d: Deployment) -> None:
    officer = d.signed_in("officer_x")
    for radius in (9, 651):
        refused = officer.get(URL, params={**HERE, "radius_m": radius})
        assert refused.status_code == 422
        assert refused.json()["error"]["message"] == (
            "the radius must be 10 to 650 m, as a request's")
    assert officer.get(URL, params={**HERE, "radius_m": 10}).json()["radius_m"] == 100
    assert officer.get(URL, params={**HERE, "lat": 91}).status_code == 422
    assert _events(d, "request.reach_previewed")[-1].payload["radius_m"] == 100  # counted


def test_only_staff_of_an_agency_that_may_send_requests_can_preview(d: Deployment) -> None:
    assert d.browser().get(URL, params=HERE).status_code == 401
    resident = d.signed_in("resident_a")
    assert resident.get(URL, params=HERE).status_code == 403
    issued = resident.submit(f"/cameras/{d.camera_a}/device-token")
    device = re.search(r'data-testid="secret">(pld_[\w-]+)<', issued.text).group(1)
    by_device = d.browser().get(URL, params=HERE, headers={"authorization": f"Bearer {device}"})
    assert by_device.status_code == 403
    unverified = d.signed_in("officer_y").get(URL, params=HERE)  # agency Y is not verified
    assert unverified.status_code == 422
    assert unverified.json()["error"]["code"] == "policy_refused.agency_not_verified"
    assert _events(d, "request.reach_previewed") == []  # nothing was answered


def test_each_preview_is_audited_with_the_agency_and_role_but_not_the_place(
        d: Deployment) -> None:
    d.signed_in("supervisor_x").get(URL, params=HERE)
    [event] = _events(d, "request.reach_previewed")
    assert event.actor_id == d.people["supervisor_x"].id
    assert event.payload == {"agency_id": str(d.agency_x), "role": "supervisor",
                             "radius_m": 200, "cameras": "under_5"}
    listed = str(event.payload)
    assert "45.5" not in listed and "122.6" not in listed


def test_each_account_may_preview_only_so_often(settings: Settings) -> None:
    policy = settings.policy.model_copy(update={"reach_previews": 3,
                                                "reach_preview_minutes": 10})
    d = _deployment(settings.model_copy(update={"policy": policy}))
    officer, colleague = d.signed_in("officer_x"), d.signed_in("supervisor_x")
    for _ in range(3):
        assert officer.get(URL, params=HERE).status_code == 200
    refused = officer.get(URL, params=HERE)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_requests"
    [event] = _events(d, "request.reach_refused")
    assert event.payload == {"agency_id": str(d.agency_x), "role": "officer",
                             "reason": "rate_limited"}
    assert colleague.get(URL, params=HERE).status_code == 200  # per account
    d.clock.advance(timedelta(minutes=10, seconds=1))  # the first three are out of the window
    assert officer.get(URL, params=HERE).status_code == 200


def test_moving_a_small_circle_cannot_single_out_a_house(d: Deployment) -> None:
    """The attack a review found: binary-search the radius around a point until the answer
    flips between "fewer than 5" and "5 to 9"; the flip gives the distance of the fifth
    camera to the metre. Counted on a ~200 m grid with the radius rounded up to 100 m,
    every circle inside one grid square and one 100 m band gives the same answer."""
    from porchlight.requests.domain.reach import preview_radius, snap_centre

    _cameras(d, 5, metres=40)  # five opted-in homes 40 m north of home A (and A's own)
    officer = d.signed_in("officer_x")
    answers = {officer.get(URL, params={"lat": HOME_A.lat, "lon": HOME_A.lon,
                                        "radius_m": r}).json()["text"]
               for r in range(10, 101, 5)}
    assert len(answers) == 1  # from 10 m to 100 m: one answer, nothing to bisect
    assert snap_centre(HOME_A) == snap_centre(LatLon(HOME_A.lat + 2e-5, HOME_A.lon - 2e-5))
    assert preview_radius(11, 650) == preview_radius(99, 650) == 100
    assert preview_radius(640, 650) == 650


def test_an_agency_as_a_whole_gets_only_so_many_previews(d: Deployment) -> None:
    """Many accounts do not multiply the budget: the agency's staff share a daily cap."""
    from dataclasses import replace

    kit = d.container.requests_kit
    d.container.requests_kit = replace(kit, policy=replace(kit.policy, reach_agency_previews=3))
    officer, supervisor = d.signed_in("officer_x"), d.signed_in("supervisor_x")
    assert [officer.get(URL, params=HERE).status_code for _ in range(2)] == [200, 200]
    assert supervisor.get(URL, params=HERE).status_code == 200
    refused = d.signed_in("admin_x").get(URL, params=HERE)
    assert refused.status_code == 429 and "your agency" in refused.json()["error"]["message"]
    d.clock.advance(timedelta(days=1, minutes=1))  # a new day (and a new sign-in)
    assert d.signed_in("officer_x").get(URL, params=HERE).status_code == 200
