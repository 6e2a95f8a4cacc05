"""One input model per use case, shared by the page and the API.

The same thing asked on a page (posted strings, the viewer's wall-clock time, ticked boxes)
and through the API (JSON types, times with offsets) reaches the use case as equal command
objects, so the two cannot drift apart; and what one refuses, the other refuses too, each
saying so its own way (beside the field on the page, the API's 422 body).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from porchlight.config import Settings
from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.requests.domain.consent import SharingScope
from porchlight.requests.services import answers, video_requests
from porchlight.requests.services.commands import (
    ApproveVideoRequest,
    CreateVideoRequest,
    GrantConsent,
    RejectVideoRequest,
)
from tests.e2e.support import (
    HOME_A,
    Browser,
    Deployment,
    actor,
    add_camera_with_clips,
    build_deployment,
    draft,
)


@pytest.fixture
def d(settings: Settings) -> Deployment:
    deployment = build_deployment(settings)
    with deployment.container.uow() as uow:
        for agency_id in (deployment.agency_x, deployment.agency_y):
            uow.agencies.get(agency_id).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    return deployment


@pytest.fixture
def request_id(d: Deployment) -> UUID:
    """A real request of agency X: the API answers with it after the (spied) use case."""
    return video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                         actor(d, "officer_x"), CreateVideoRequest(draft(d)))


def spy(monkeypatch: pytest.MonkeyPatch, module: object, name: str, returns: object) -> list:
    """Replace a use case by one that keeps the command it was given."""
    seen: list = []

    def record(*args: object) -> object:
        seen.append(args[-1])
        return returns

    monkeypatch.setattr(module, name, record)
    return seen


def api(browser: Browser, path: str, body: dict):
    return browser.post(path, json=body, headers={"x-csrf-token": browser.csrf()})


def field_error(page: str, name: str) -> str | None:
    found = re.search(rf'id="f-{re.escape(name)}-error">([^<]*)<', page)
    return found.group(1) if found else None


def test_a_request_typed_on_the_page_is_the_request_the_api_sends(
        d: Deployment, request_id: UUID, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = spy(monkeypatch, video_requests, "create_request", request_id)
    officer = d.signed_in("officer_x")
    typed = {"case_number": " 24-0815 ", "incident_type": "theft", "incident_other": "",
             "incident_time": "2026-11-02T07:20", "window_start": "2026-11-02T07:00",
             "window_end": "2026-11-02T08:00", "tz": "America/Los_Angeles",
             "lat": "45.5231", "lon": "-122.6765", "radius_m": "250", "retention_days": "90",
             "description": "A bicycle was stolen from a porch on Alder St.",
             "contact": "Officer X, 555-0101", "sharing_plan": str(d.agency_y)}
    page = officer.submit("/requests", typed)
    assert page.status_code == 303, page.text
    sent = api(officer, "/api/v1/requests", {
        "case_number": "24-0815", "incident_type": "theft",
        "incident_time": "2026-11-02T07:20:00-08:00", "window_start": "2026-11-02T15:00:00Z",
        "window_end": "2026-11-02T08:00:00-08:00", "lat": 45.5231, "lon": -122.6765,
        "radius_m": 250, "retention_days": 90.0,
        "description": "A bicycle was stolen from a porch on Alder St.",
        "contact": "Officer X, 555-0101", "sharing_plan": [str(d.agency_y)]})
    assert sent.status_code == 201, sent.text
    from_page, from_api = seen
    assert isinstance(from_page, CreateVideoRequest) and from_page == from_api
    assert from_page.draft.window_start == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    assert from_page.draft.incident_other is None and from_page.draft.case_number == "24-0815"
    assert from_page.draft.sharing_plan == (d.agency_y,)


def test_a_consent_given_on_the_page_is_the_consent_the_api_gives(
        d: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = spy(monkeypatch, answers, "give_consent", uuid4())
    resident = d.signed_in("resident_a")
    delivery_id, digest = uuid4(), "ab" * 32
    for share in (True, False):
        form = {"clips": ["c-1", "c-2"], "scope": "this_agency", "disclosure_sha256": digest}
        page = resident.submit(f"/inbox/{delivery_id}/consent",
                               {**form, "share_contact": "true"} if share else form)
        assert page.status_code == 303, page.text
        sent = api(resident, f"/api/v1/inbox/{delivery_id}/consent", {
            "clips": ["c-2", "c-1"], "scope": "this_agency", "share_contact": share,
            "disclosure_sha256": digest})
        assert sent.status_code == 201, sent.text
    ticked_page, ticked_api, unticked_page, unticked_api = seen
    assert ticked_page == ticked_api == GrantConsent(
        delivery_id, frozenset({"c-1", "c-2"}), SharingScope.THIS_AGENCY, True, digest)
    assert unticked_page == unticked_api and unticked_page.share_contact is False


def test_a_decision_on_the_page_is_the_decision_the_api_makes(
        d: Deployment, request_id: UUID, monkeypatch: pytest.MonkeyPatch) -> None:
    approvals = spy(monkeypatch, video_requests, "approve", None)
    rejections = spy(monkeypatch, video_requests, "reject", None)
    supervisor = d.signed_in("supervisor_x")
    why = "The suspect fled on foot through several back yards."
    for path, body, seen, kind in (
            ("approve", {"justification": why}, approvals, ApproveVideoRequest),
            ("reject", {"reason": "Too wide for a bicycle theft."}, rejections,
             RejectVideoRequest)):
        padded = {name: f"  {value}\n" for name, value in body.items()}
        assert supervisor.submit(f"/requests/{request_id}/{path}", padded).status_code == 303
        sent = api(supervisor, f"/api/v1/requests/{request_id}/{path}", body)
        assert sent.status_code == 200, sent.text
        from_page, from_api = seen
        assert isinstance(from_page, kind) and from_page == from_api
        assert from_page.request_id == request_id


@pytest.mark.parametrize(("field", "typed", "sent", "on_page"), [
    ("lat", "91", 91, "must be at most 90"),
    ("radius_m", "ten", "ten", "enter a whole number, like 200"),
    ("description", "Too short.", "Too short.", "use at least 20 characters"),
])
def test_what_one_refuses_the_other_refuses(
        d: Deployment, request_id: UUID, monkeypatch: pytest.MonkeyPatch, field: str,
        typed: str, sent: object, on_page: str) -> None:
    seen = spy(monkeypatch, video_requests, "create_request", request_id)
    officer = d.signed_in("officer_x")
    form = {"case_number": "24-0815", "incident_type": "theft",
            "incident_time": "2026-11-02T07:20", "window_start": "2026-11-02T07:00",
            "window_end": "2026-11-02T08:00", "lat": "45.5", "lon": "-122.6",
            "radius_m": "250", "retention_days": "90", "contact": "Officer X",
            "description": "A bicycle was stolen from a porch on Alder St."}
    page = officer.submit("/requests", {**form, field: typed})
    assert page.status_code == 422
    assert field_error(page.text, field) == on_page
    body = {**form, "incident_time": "2026-11-02T07:20:00Z",
            "window_start": "2026-11-02T07:00:00Z", "window_end": "2026-11-02T08:00:00Z",
            "lat": 45.5, "lon": -122.6, "radius_m": 250, "retention_days": 90, field: sent}
    refused = api(officer, "/api/v1/requests", body)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid"
    assert refused.json()["error"]["message"].startswith(f"{field}: ")
    assert seen == []  # neither reached the use case


def test_no_clip_picked_is_said_beside_the_clips_and_by_the_api(
        d: Deployment, tmp_path: Path) -> None:
    clip = make_demo_clip(tmp_path / "clip.mp4", seconds=1, width=320, height=180)
    add_camera_with_clips(d, "resident_a", HOME_A, [clip], [timedelta(hours=2, minutes=30)])
    video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                  actor(d, "officer_x"), CreateVideoRequest(draft(d)))
    [item] = answers.inbox(d.container.uow(), actor(d, "resident_a"))
    _, shown = answers.disclosure(d.container.uow(), actor(d, "resident_a"), item.delivery.id)
    resident = d.signed_in("resident_a")
    unticked = {"scope": "this_agency", "disclosure_sha256": shown.sha256}
    page = resident.submit(f"/inbox/{item.delivery.id}/consent", unticked)
    assert page.status_code == 422
    assert field_error(page.text, "clips") == "pick at least one"
    sent = api(resident, f"/api/v1/inbox/{item.delivery.id}/consent", {**unticked, "clips": []})
    assert sent.status_code == 422 and sent.json()["error"]["message"].startswith("clips: ")
    assert answers.my_consent(d.container.uow(), actor(d, "resident_a"), item.delivery.id) is None


def test_the_api_documents_the_shared_input_models(d: Deployment) -> None:
    document = d.browser().get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert {"RequestIn", "ConsentIn", "ApprovalIn", "RejectionIn"} <= schemas.keys()
    body = document["paths"]["/api/v1/inbox/{delivery_id}/consent"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ConsentIn"}
    assert schemas["ConsentIn"]["required"] == ["clips", "scope", "disclosure_sha256"]
    latitude = schemas["RequestIn"]["properties"]["lat"]
    assert (latitude["minimum"], latitude["maximum"]) == (-90, 90)  # bounds the schema states
