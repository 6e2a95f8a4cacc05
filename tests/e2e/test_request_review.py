"""The supervisor sees what they approve, a rejection says why, and the request form names
the agencies of its sharing plan."""

from __future__ import annotations

import hashlib
import html
import re
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

from porchlight.config import Settings
from porchlight.kernel.adapters.db import tables
from porchlight.requests.domain.requests import RequestStatus
from porchlight.requests.services import video_requests
from porchlight.requests.services.commands import CreateVideoRequest
from tests.e2e.support import HOME_A, Deployment, actor, build_deployment, draft
from tests.e2e.test_forms import field_error

REASON = "The radius takes in the whole school; ask for the two streets around the shop."


@pytest.fixture
def d(settings: Settings) -> Deployment:
    deployment = build_deployment(settings)
    with deployment.container.uow() as uow:
        for agency_id in (deployment.agency_x, deployment.agency_y):
            uow.agencies.get(agency_id).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    return deployment


def _wide_request(d: Deployment) -> UUID:
    """400 m with Agency Y in the sharing plan: waits for a supervisor."""
    wide = draft(d, radius_m=400, sharing_plan=(d.agency_y,))
    return video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                         actor(d, "officer_x"), CreateVideoRequest(wide))


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_the_supervisor_sees_every_fact_and_the_text_residents_read(d: Deployment) -> None:
    request_id = _wide_request(d)
    page = d.signed_in("supervisor_x").get(f"/requests/{request_id}").text
    text = _text(page)
    for fact in ("Requested by Officer_X", "Burglary", "45.51220, -122.65870", "400 m",
                 "90 days", "Agency Y Sheriff (County sheriff)", "Det. Ruiz, 555-0100",
                 "the radius is larger than an officer may ask for alone",
                 "A garage on Alder St was broken into; we are looking for a grey van.",
                 "Declining or ignoring this request has no consequence"):
        assert fact in text, fact
    assert "Monday 2 November 2026, 06:20 UTC" in text  # times in words, not ISO
    assert 'data-map-view data-lat="45.5122" data-lon="-122.6587" data-radius="400"' in page
    assert 'name="reason"' in page and 'name="justification"' in page
    # the officer who asked sees the facts, but cannot decide on their own request
    own = d.signed_in("officer_x").get(f"/requests/{request_id}").text
    assert "Requested by Officer_X" in _text(own) and 'name="reason"' not in own


def test_a_rejection_needs_a_reason_and_the_officer_reads_it(d: Deployment) -> None:
    request_id = _wide_request(d)
    supervisor = d.signed_in("supervisor_x")
    missing = supervisor.submit(f"/requests/{request_id}/reject", {"reason": "  "})
    assert missing.status_code == 422
    assert field_error(missing.text, "reason") == "this is required"
    short = supervisor.submit(f"/requests/{request_id}/reject", {"reason": "No."})
    assert "10 to 2000 characters" in field_error(short.text, "reason")
    with d.container.uow() as uow:
        assert uow.requests.get(request_id).status is RequestStatus.AWAITING_APPROVAL

    done = supervisor.submit(f"/requests/{request_id}/reject", {"reason": REASON})
    assert done.status_code == 303
    officer_page = d.signed_in("officer_x").get(f"/requests/{request_id}").text
    assert "rejected" in officer_page and REASON in _text(officer_page)
    assert "Rejected by Supervisor_X" in _text(officer_page)


def test_the_audit_log_commits_to_the_reason_without_holding_it(d: Deployment) -> None:
    request_id = _wide_request(d)
    d.signed_in("supervisor_x").submit(f"/requests/{request_id}/reject", {"reason": REASON})
    with d.container.engine.connect() as connection:
        row = connection.execute(select(tables.video_requests).where(
            tables.video_requests.c.id == request_id)).one()
        event = connection.execute(select(tables.audit_events).where(
            tables.audit_events.c.kind == "request.rejected")).one()
    assert row.rejection_reason == REASON and row.rejected_by == d.people["supervisor_x"].id
    assert event.version == 2 and event.actor_id == d.people["supervisor_x"].id
    assert event.payload == {
        "request_id": str(request_id), "reason_chars": len(REASON),
        "reason_commitment": hashlib.sha256(bytes.fromhex(row.rejection_nonce)
                                            + REASON.encode()).hexdigest()}
    assert "school" not in str(event.payload)


def test_the_api_rejects_only_with_a_reason(d: Deployment) -> None:
    request_id = _wide_request(d)
    supervisor = d.signed_in("supervisor_x")
    headers = {"x-csrf-token": supervisor.csrf()}
    bare = supervisor.post(f"/api/v1/requests/{request_id}/reject", json={}, headers=headers)
    assert bare.status_code == 422
    short = supervisor.post(f"/api/v1/requests/{request_id}/reject", json={"reason": "no"},
                            headers=headers)
    assert short.status_code == 422 and short.json()["error"]["code"] == "invalid"
    done = supervisor.post(f"/api/v1/requests/{request_id}/reject", json={"reason": REASON},
                           headers=headers)
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["rejection_reason"]) == ("rejected", REASON)
    seen = d.signed_in("officer_x").get(f"/api/v1/requests/{request_id}").json()
    assert seen["rejection_reason"] == REASON


def _form(d: Deployment, **changes: str) -> dict[str, str]:
    return {"case_number": "F-1", "incident_type": "theft", "tz": "UTC",
            "incident_time": "2026-11-02T06:20", "window_start": "2026-11-02T06:00",
            "window_end": "2026-11-02T07:00", "lat": str(HOME_A.lat), "lon": str(HOME_A.lon),
            "radius_m": "200", "description": "A bicycle was taken from a porch; who took it?",
            "retention_days": "30", "contact": "Desk 555-0100", **changes}


def test_the_request_form_names_the_agencies_of_its_sharing_plan(d: Deployment) -> None:
    officer = d.signed_in("officer_x")
    page = officer.get("/requests").text
    assert f'name="sharing_plan" value="{d.agency_y}"' in page
    assert "Agency Y Sheriff (County sheriff)" in page
    assert f'value="{d.agency_x}"' not in page  # not its own agency
    sent = officer.submit("/requests", {**_form(d), "sharing_plan": str(d.agency_y)})
    assert sent.status_code == 303, field_error(sent.text, "sharing_plan")
    request_id = UUID(sent.headers["location"].rsplit("/", 1)[1])
    with d.container.uow() as uow:
        assert uow.requests.get(request_id).sharing_plan == [str(d.agency_y)]
    shown = _text(officer.get(f"/requests/{request_id}").text)
    assert "may want to share it with Agency Y Sheriff" in shown


def test_an_agency_no_page_offers_is_refused_beside_the_plan(d: Deployment) -> None:
    officer = d.signed_in("officer_x")
    ghost = officer.submit("/requests", {**_form(d), "sharing_plan": str(uuid4())})
    assert ghost.status_code == 422
    assert "not on Porchlight" in ghost.text
    assert 'id="f-sharing_plan-error"' in ghost.text
    assert 'value="F-1"' in ghost.text  # what was typed is kept
    with d.container.uow() as uow:
        assert list(uow.requests.list_for_agency(d.agency_x)) == []


def test_the_plan_names_other_agencies_each_once(d: Deployment) -> None:
    """Its own agency, or one agency twice, would read to residents as sharing that is not."""
    officer = d.signed_in("officer_x")
    own = officer.submit("/requests", {**_form(d), "sharing_plan": str(d.agency_x)})
    assert own.status_code == 422 and 'id="f-sharing_plan-error"' in own.text
    assert "yours has the footage already" in own.text
    twice = officer.post("/api/v1/requests", headers={"x-csrf-token": officer.csrf()}, json={
        "case_number": "F-2", "incident_type": "theft",
        "incident_time": "2026-11-02T06:20:00Z", "window_start": "2026-11-02T06:00:00Z",
        "window_end": "2026-11-02T07:00:00Z", "lat": HOME_A.lat, "lon": HOME_A.lon,
        "radius_m": 200, "description": "A bicycle was taken from a porch; who took it?",
        "retention_days": 30, "contact": "Desk 555-0100",
        "sharing_plan": [str(d.agency_y), str(d.agency_y)]})
    assert twice.status_code == 422
    assert twice.json()["error"]["code"] == "policy_refused.sharing_plan_repeated"
    with d.container.uow() as uow:
        assert list(uow.requests.list_for_agency(d.agency_x)) == []
