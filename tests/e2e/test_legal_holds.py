"""Legal holds on the real stack: a supervisor's form and API, who is refused, what the
resident whose clip is held sees (page and API), and the retention sweep on an injected
clock before, during and after a hold."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from porchlight.config import Settings
from porchlight.custody.services import retention
from porchlight.kernel.adapters.db import tables
from porchlight.requests.services import video_requests
from tests.e2e.support import Deployment, one_clip, verified_deployment
from tests.e2e.test_video_requests import Shared, share_one_clip

REASON = "Kept for the trial of the Alder St burglary."


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return one_clip(tmp_path_factory, "holds")


@pytest.fixture
def d(settings: Settings) -> Deployment:
    return verified_deployment(settings, only_x=True)


@pytest.fixture
def shared(d: Deployment, clip_files: list[Path]) -> Shared:
    """Resident A's clip with agency X's request, kept 90 days as promised."""
    return share_one_clip(d, clip_files)


def _api(d: Deployment, who: str):
    browser = d.signed_in(who)
    return browser, {"x-csrf-token": browser.csrf()}


def _day(d: Deployment, days: int) -> str:
    return (d.clock.now() + timedelta(days=days)).date().isoformat()


def _sweep(d: Deployment) -> int:
    return retention.expire_due(d.container.uow())


def test_a_supervisor_sets_a_hold_on_the_page_and_its_evidence_outlives_the_promise(
    d: Deployment, shared: Shared
) -> None:
    start = d.clock.now()
    supervisor = d.signed_in("supervisor_x")
    page = supervisor.get(f"/requests/{shared.request_id}")
    assert 'action="/requests/' in page.text and "Set a legal hold" in page.text
    sent = supervisor.submit(f"/requests/{shared.request_id}/holds",
                             {"reason": REASON, "until": _day(d, 120), "tz": "UTC"})
    assert sent.status_code == 303, sent.text
    page = supervisor.get(f"/requests/{shared.request_id}")
    [hold] = re.findall(r'data-testid="hold".*?</article>', page.text, re.S)
    assert "In force" in hold and REASON in hold and "Supervisor_X" in hold
    assert "Release this hold" in hold
    officer_page = d.signed_in("officer_x").get(f"/requests/{shared.request_id}")
    assert REASON in officer_page.text and "Release this hold" not in officer_page.text
    assert "Set a legal hold" not in officer_page.text

    ends = datetime.combine(start.date() + timedelta(days=121), time(), UTC)  # through day 120
    d.clock.advance(timedelta(days=91))  # the promised 90 days are over
    assert _sweep(d) == 0
    d.clock.advance(ends + timedelta(days=1) - d.clock.now())  # the hold ran out
    assert _sweep(d) == 0
    d.clock.advance(ends + timedelta(days=90, minutes=-1) - d.clock.now())  # the clock restarted
    assert _sweep(d) == 0
    d.clock.advance(timedelta(minutes=2))
    assert _sweep(d) == 1
    with d.container.engine.connect() as connection:
        kinds = connection.execute(select(tables.audit_events.c.kind, tables.audit_events
                                          .c.payload)).all()
    [(_, payload)] = [(k, p) for k, p in kinds if k == "evidence.hold_set"]
    assert payload["reason_chars"] == len(REASON) and REASON not in str(kinds)


def test_a_bad_hold_is_shown_beside_its_fields_with_what_was_typed(
    d: Deployment, shared: Shared
) -> None:
    supervisor = d.signed_in("supervisor_x")
    path = f"/requests/{shared.request_id}/holds"
    short = supervisor.submit(path, {"reason": "trial", "until": _day(d, 30)})
    assert short.status_code == 422
    assert re.search(r'id="f-reason-error">the reason for the hold must be 10', short.text)
    assert f'value="{_day(d, 30)}"' in short.text  # the date is kept
    too_far = supervisor.submit(path, {"reason": REASON, "until": _day(d, 400)})
    assert too_far.status_code == 422
    assert re.search(r'id="f-until-error">a hold may last at most 365 days', too_far.text)
    assert REASON in too_far.text  # the reason is kept
    missing = supervisor.submit(path, {"reason": REASON})
    assert missing.status_code == 422 and 'id="f-until-error">this is required' in missing.text
    with d.container.engine.connect() as connection:
        assert connection.execute(select(tables.legal_holds)).all() == []


@pytest.mark.parametrize(("who", "status"), [
    ("officer_x", 403), ("officer_y", 404), ("resident_a", 403), (None, 401)])
def test_only_a_supervisor_of_the_agency_may_hold_release_or_close(
    d: Deployment, shared: Shared, who: str | None, status: int
) -> None:
    browser, headers = _api(d, "supervisor_x")
    made = browser.post(f"/api/v1/requests/{shared.request_id}/holds", headers=headers,
                        json={"reason": REASON, "until": (d.clock.now() + timedelta(days=9))
                              .isoformat()})
    assert made.status_code == 201, made.text
    hold_id = made.json()["id"]
    caller = d.signed_in(who) if who else d.browser()
    headers = {"x-csrf-token": caller.csrf()}
    base = f"/api/v1/requests/{shared.request_id}"
    for path, body in ((f"{base}/holds", {"reason": REASON, "until": "2027-01-01T00:00:00Z"}),
                       (f"{base}/holds/{hold_id}/release", None), (f"{base}/close-case", None)):
        assert caller.post(path, json=body, headers=headers).status_code == status, path
    form = caller.submit(f"/requests/{shared.request_id}/holds",
                         {"reason": REASON, "until": _day(d, 5)})
    assert form.status_code == status
    with d.container.engine.connect() as connection:
        [row] = connection.execute(select(tables.legal_holds)).all()
    assert row.released_at is None


def test_the_api_releases_a_hold_and_the_clock_restarts_from_the_release(
    d: Deployment, shared: Shared
) -> None:
    start = d.clock.now()
    browser, headers = _api(d, "supervisor_x")
    base = f"/api/v1/requests/{shared.request_id}"
    made = browser.post(f"{base}/holds", headers=headers, json={
        "reason": REASON, "until": (start + timedelta(days=300)).isoformat()}).json()
    assert made["active"] and made["reason"] == REASON and made["set_by_role"] == "supervisor"
    detail = browser.get(base).json()
    assert detail["evidence"][0]["expires_at"].startswith(
        (start + timedelta(days=390)).date().isoformat())
    d.clock.advance(timedelta(days=100))
    browser, headers = _api(d, "supervisor_x")
    released = browser.post(f"{base}/holds/{made['id']}/release", headers=headers)
    assert released.status_code == 200, released.text
    assert released.json()["end_cause"] == "released" and not released.json()["active"]
    assert browser.post(f"{base}/holds/{made['id']}/release",
                        headers=headers).status_code == 409
    [listed] = browser.get(f"{base}/holds").json()
    assert listed["released_at"] is not None
    at = datetime.fromisoformat(listed["released_at"])
    assert at == d.clock.now()
    d.clock.advance(timedelta(days=90, minutes=-1))
    assert _sweep(d) == 0
    d.clock.advance(timedelta(minutes=1))
    assert _sweep(d) == 1


def test_closing_the_case_ends_the_hold_once_residents_can_no_longer_answer(
    d: Deployment, shared: Shared
) -> None:
    browser, headers = _api(d, "supervisor_x")
    base = f"/api/v1/requests/{shared.request_id}"
    browser.post(f"{base}/holds", headers=headers, json={
        "reason": REASON, "until": (d.clock.now() + timedelta(days=300)).isoformat()})
    page = browser.get(f"/requests/{shared.request_id}")
    assert "Close the case" not in page.text  # residents can still answer
    assert browser.post(f"{base}/close-case", headers=headers).status_code == 409
    d.clock.advance(timedelta(days=8))
    assert video_requests.close_due(d.container.uow()) == 1
    browser, headers = _api(d, "supervisor_x")
    asked = browser.submit(f"/requests/{shared.request_id}/close-case")
    assert asked.status_code == 200 and "Yes, close the case" in asked.text
    done = browser.submit(f"/requests/{shared.request_id}/close-case", {"confirm": "yes"})
    assert done.status_code == 303
    page = browser.get(f"/requests/{shared.request_id}")
    assert "Ended when the case closed" in page.text and 'data-testid="case-closed"' in page.text
    assert "Set a legal hold" not in page.text
    assert browser.get(base).json()["case_closed_at"] is not None
    again = browser.post(f"{base}/holds", headers=headers, json={
        "reason": REASON, "until": (d.clock.now() + timedelta(days=3)).isoformat()})
    assert again.status_code == 409
    d.clock.advance(timedelta(days=90) - timedelta(minutes=1))
    assert _sweep(d) == 0
    d.clock.advance(timedelta(minutes=2))
    assert _sweep(d) == 1


def test_the_owner_sees_the_hold_its_role_and_end_but_not_the_reason(
    d: Deployment, shared: Shared
) -> None:
    resident = d.signed_in("resident_a")
    before = resident.get(f"/inbox/{shared.delivery_id}")
    assert 'data-testid="delete-by"' in before.text and "legal hold" not in before.text
    browser, headers = _api(d, "supervisor_x")
    until = d.clock.now() + timedelta(days=200)
    browser.post(f"/api/v1/requests/{shared.request_id}/holds", headers=headers,
                 json={"reason": REASON, "until": until.isoformat()})
    page = resident.get(f"/inbox/{shared.delivery_id}")
    [told] = re.findall(r'data-testid="legal-hold">(.*?)</p>', page.text, re.S)
    assert "A legal hold keeps it longer" in told and "supervisor of Agency X Police" in told
    assert until.isoformat() in told  # the <time> element's datetime
    assert REASON not in page.text and "Supervisor_X" not in page.text
    body = resident.get(f"/api/v1/inbox/{shared.delivery_id}").json()
    copy = body["agency_copy"]
    assert copy["copies"] == 1
    assert copy["delete_by"].startswith((until + timedelta(days=90)).date().isoformat())
    [hold] = copy["legal_holds"]
    assert hold == {"agency": "Agency X Police", "set_by_role": "supervisor",
                    "set_at": hold["set_at"], "until": until.isoformat(), "active": True,
                    "released_at": None, "end_cause": None}
    assert REASON not in str(body)
    assert d.signed_in("resident_b").get(f"/inbox/{shared.delivery_id}").status_code == 404
