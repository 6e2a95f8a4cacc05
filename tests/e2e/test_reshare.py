"""Re-sharing evidence on the real stack: an officer of agency X shares resident A's clip
with agency Y on the page; the copy job runs, Y's staff see it marked as received from X
and play it; A is told by mail and on their request's page. Refusals are audited and
change nothing; taking consent back destroys the copy; and on an injected clock no
evidence copy, re-shared ones included, is readable a day past its deletion date unless a
legal hold covers it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from porchlight.config import Settings
from porchlight.custody.services import retention
from porchlight.kernel.adapters.db import tables
from porchlight.requests.domain.consent import SharingScope
from porchlight.requests.services import answers, video_requests
from porchlight.requests.services.commands import CreateVideoRequest, GrantConsent
from tests.e2e.support import (
    HOME_A,
    Deployment,
    actor,
    add_camera_with_clips,
    draft,
    one_clip,
    verified_deployment,
)
from tests.e2e.test_video_requests import Shared

REASON = "Agency Y is investigating the same series of garage burglaries."


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return one_clip(tmp_path_factory, "reshare")


@pytest.fixture
def d(settings: Settings) -> Deployment:
    return verified_deployment(settings)


def share_clip(d: Deployment, clip_files: list[Path],
               scope: SharingScope = SharingScope.LOCAL_OR_STATE) -> Shared:
    """Resident A's clip with agency X's request, under ``scope``; the copy derived."""
    _, a_clips = add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1],
                                       [timedelta(hours=2, minutes=50)])
    request_id = video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                               actor(d, "officer_x"),
                                               CreateVideoRequest(draft(d)))
    resident = actor(d, "resident_a")
    [item] = answers.inbox(d.container.uow(), resident)
    _, shown = answers.disclosure(d.container.uow(), resident, item.delivery.id)
    consent_id = answers.give_consent(d.container.uow(), resident, GrantConsent(
        item.delivery.id, clip_ids=frozenset({str(a_clips[0])}), scope=scope,
        share_contact=False, disclosure_sha256=shown.sha256))
    return Shared(request_id, consent_id, item.delivery.id, a_clips[0])


def _items(d: Deployment) -> list:
    with d.container.engine.connect() as connection:
        return connection.execute(select(tables.evidence_items)).all()


def _kinds(d: Deployment) -> list[str]:
    with d.container.engine.connect() as connection:
        return list(connection.execute(select(tables.audit_events.c.kind)).scalars())


def _evidence_id(d: Deployment) -> str:
    [item] = [row for row in _items(d) if row.parent_id is None]
    return str(item.id)


def test_an_officer_shares_on_the_page_and_y_plays_it_and_the_owner_is_told(
    d: Deployment, clip_files: list[Path]
) -> None:
    shared = share_clip(d, clip_files)
    evidence_id = _evidence_id(d)
    officer = d.signed_in("officer_x")
    page = officer.get(f"/requests/{shared.request_id}")
    assert f'href="/evidence/{evidence_id}/share"' in page.text
    form = officer.get(f"/evidence/{evidence_id}/share")
    assert "Agency Y Sheriff (County sheriff)" in form.text
    assert "any local or state agency" in form.text
    sent = officer.submit(f"/evidence/{evidence_id}/share",
                          {"to_agency_id": str(d.agency_y), "reason": REASON})
    assert sent.status_code == 303, sent.text
    [copy] = [row for row in _items(d) if row.parent_id is not None]
    assert str(copy.parent_id) == evidence_id and copy.agency_id == d.agency_y
    form = officer.get(f"/evidence/{evidence_id}/share")
    assert "Agency Y Sheriff" in form.text and REASON in form.text and "kept until" in form.text
    assert "Shared with" in officer.get(f"/requests/{shared.request_id}").text

    deputy = d.signed_in("officer_y")
    received = deputy.get("/evidence")
    assert re.search(r'data-testid="received-from"><strong>Received from Agency X Police',
                     received.text)
    assert f'src="/evidence/{copy.id}/video"' in received.text
    played = deputy.get(f"/evidence/{copy.id}/video")
    assert played.status_code == 200 and len(played.content) == copy.size_bytes
    assert officer.get(f"/evidence/{copy.id}/video").status_code == 404  # Y's, not X's
    api = deputy.get("/api/v1/evidence/received").json()
    assert [r["from_agency"] for r in api] == ["Agency X Police"]

    [mail] = [m for m in d.mailer.sent if "shared your footage" in m.subject]
    assert mail.to == "resident_a@example.org" and "Agency Y Sheriff" in mail.body
    assert REASON in mail.body
    resident = d.signed_in("resident_a")
    inbox = resident.get(f"/inbox/{shared.delivery_id}")
    [notice] = re.findall(r'data-testid="reshare">(.*?)</p>', inbox.text, re.S)
    assert "shared your footage on to <strong>Agency Y Sheriff</strong>" in notice
    assert f"reason: {REASON}" in notice
    [listed] = resident.get(f"/api/v1/inbox/{shared.delivery_id}").json()["reshares"]
    assert (listed["to_agency"], listed["reason"], listed["copy_state"]) == (
        "Agency Y Sheriff", REASON, "kept")
    kinds = _kinds(d)
    assert "evidence.reshared" in kinds and kinds.count("evidence.received") == 2


def test_the_api_shares_and_refuses_outside_the_consent_changing_nothing(
    d: Deployment, clip_files: list[Path]
) -> None:
    share_clip(d, clip_files, SharingScope.THIS_AGENCY)
    evidence_id = _evidence_id(d)
    browser = d.signed_in("supervisor_x")
    headers = {"x-csrf-token": browser.csrf()}
    before = (_items(d), len(d.mailer.sent))
    refused = browser.post(f"/api/v1/evidence/{evidence_id}/reshare", headers=headers,
                           json={"to_agency_id": str(d.agency_y), "reason": REASON})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "policy_refused.outside_consent_scope"
    assert (_items(d), len(d.mailer.sent)) == before
    with d.container.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(
            tables.evidence_shares)).scalar_one() == 0
        [payload] = connection.execute(select(tables.audit_events.c.payload).where(
            tables.audit_events.c.kind == "evidence.reshare_refused")).scalars()
    assert payload["reason"] == "outside_consent_scope"
    assert payload["to_agency_id"] == str(d.agency_y)
    assert browser.get(f"/api/v1/evidence/{evidence_id}/shares").json() == []


def test_a_bad_share_shows_errors_beside_the_fields_and_keeps_what_was_typed(
    d: Deployment, clip_files: list[Path]
) -> None:
    share_clip(d, clip_files, SharingScope.THIS_AGENCY)
    evidence_id = _evidence_id(d)
    officer = d.signed_in("officer_x")
    path = f"/evidence/{evidence_id}/share"
    short = officer.submit(path, {"to_agency_id": str(d.agency_y), "reason": "because"})
    assert short.status_code == 422
    assert 'id="f-reason-error">the reason for sharing must be 10' in short.text
    assert f'value="{d.agency_y}" selected' in short.text
    outside = officer.submit(path, {"to_agency_id": str(d.agency_y), "reason": REASON})
    assert outside.status_code == 422
    assert re.search(r'id="f-to_agency_id-error">the owner&#39;s consent does not', outside.text)
    assert REASON in outside.text and 'aria-invalid="true"' in outside.text
    assert officer.submit(path, {"reason": REASON}).status_code == 422


def test_taking_consent_back_destroys_the_re_shared_copy(
    d: Deployment, clip_files: list[Path]
) -> None:
    shared = share_clip(d, clip_files)
    evidence_id = _evidence_id(d)
    browser = d.signed_in("officer_x")
    made = browser.post(f"/api/v1/evidence/{evidence_id}/reshare",
                        headers={"x-csrf-token": browser.csrf()},
                        json={"to_agency_id": str(d.agency_y), "reason": REASON})
    assert made.status_code == 201 and made.json()["copy_state"] == "kept"
    copy_key = next(row.object_key for row in _items(d) if row.parent_id is not None)
    store = d.container.footage.store
    assert store.exists(copy_key)
    resident = d.signed_in("resident_a")
    assert resident.submit(f"/inbox/{shared.delivery_id}/revoke",
                           {"confirm": "yes"}).status_code == 303
    assert all(row.purged_at is not None and row.wrapped_key is None for row in _items(d))
    assert not store.exists(copy_key)
    assert d.signed_in("officer_y").get("/evidence").text.count('data-testid="received"') == 0


def _readable_past_their_date(d: Deployment) -> list:
    """Evidence items still readable more than a day after their deletion date, other than
    originals a standing hold on their case covers."""
    now = d.clock.now()
    with d.container.engine.connect() as connection:
        held = set(connection.execute(select(tables.legal_holds.c.request_id).where(
            tables.legal_holds.c.released_at.is_(None),
            tables.legal_holds.c.until > now)).scalars())
    return [row for row in _items(d)
            if row.wrapped_key is not None and row.expires_at + timedelta(days=1) <= now
            and not (row.parent_id is None and row.request_id in held)]


def test_on_a_moved_clock_no_copy_outlives_its_date_unless_a_hold_covers_it(
    d: Deployment, clip_files: list[Path]
) -> None:
    shared = share_clip(d, clip_files)
    evidence_id = _evidence_id(d)
    officer = d.signed_in("officer_x")
    short = (d.clock.now() + timedelta(days=20)).date().isoformat()
    assert officer.submit(f"/evidence/{evidence_id}/share", {
        "to_agency_id": str(d.agency_y), "reason": REASON, "until": short,
        "tz": "UTC"}).status_code == 303
    supervisor = d.signed_in("supervisor_x")
    hold_until = (d.clock.now() + timedelta(days=150)).date().isoformat()
    assert supervisor.submit(f"/requests/{shared.request_id}/holds", {
        "reason": "Kept for the trial of the garage burglaries.", "until": hold_until,
        "tz": "UTC"}).status_code == 303
    copy = next(row for row in _items(d) if row.parent_id is not None)
    for day in range(0, 260, 1):
        d.clock.advance(timedelta(days=1))
        retention.expire_due(d.container.uow())
        assert _readable_past_their_date(d) == [], day
    rows = {str(row.id): row for row in _items(d)}
    assert rows[str(copy.id)].purged_at <= copy.expires_at + timedelta(days=1)
    assert rows[evidence_id].purged_at is not None  # after the hold and 90 more days
    assert rows[evidence_id].purged_at > copy.expires_at + timedelta(days=100)
