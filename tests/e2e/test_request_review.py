"""A rejection says why: the supervisor must give a reason, the officer reads it."""

from __future__ import annotations

import hashlib
import html
import re
from uuid import UUID

import pytest
from sqlalchemy import select

from porchlight.adapters.db import tables
from porchlight.config import Settings
from porchlight.domain.requests import RequestStatus
from porchlight.services import video_requests
from tests.e2e.support import Deployment, actor, build_deployment, draft
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
                                         actor(d, "officer_x"), wide)


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


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
