"""Every route, for every kind of caller, with the expected allow or deny.

The test fails when the app has a route that has no row here, so a new route cannot
ship without a decision about who may call it. Mutating requests run against a fresh
copy of the seeded database, so no row can change what another row sees.

A denial is 401, 403 or 404. Anything else below 500 counts as allowed: the caller got
past authorisation (a 409 or 422 there is a business answer, not an access decision).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from porchlight import bootstrap
from porchlight.config import Settings
from porchlight.entrypoints.app import ROUTERS, create_app
from porchlight.entrypoints.auth import CSRF_COOKIE, SESSION_COOKIE
from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.adapters.db import tables
from tests.e2e import support

ACTORS = ("anonymous", "resident_a", "resident_b", "officer_x", "supervisor_x", "admin_x",
          "officer_y", "platform_admin", "disabled")
EVERYONE = frozenset(ACTORS)
SIGNED_IN = EVERYONE - {"anonymous", "disabled"}
RESIDENTS = frozenset({"resident_a", "resident_b"})
OWNER = frozenset({"resident_a"})
X_ADMINS = frozenset({"admin_x", "platform_admin"})
PLATFORM = frozenset({"platform_admin"})
STAFF = frozenset({"officer_x", "supervisor_x", "admin_x", "officer_y"})
X_STAFF = frozenset({"officer_x", "supervisor_x", "admin_x"})
X_SUPERVISORS = frozenset({"supervisor_x", "admin_x"})
NOBODY: frozenset[str] = frozenset()
BOGUS = "bogus-link-token.AAAAAAAAAAAAAAAAAAAAAA"
NEW_PASSWORD = "matrix long passphrase 3"


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    allowed: frozenset[str]
    form: dict | None = None
    json: dict | None = None

    @property
    def mutates(self) -> bool:
        return self.method not in ("GET", "HEAD")


CAMERA_FORM = {"name": "Matrix cam", "lat": "45.51", "lon": "-122.65"}
ROWS = [
    # public pages and documents
    Row("GET", "/", EVERYONE),
    Row("GET", "/agencies", EVERYONE),
    Row("GET", "/favicon.ico", EVERYONE),
    Row("GET", "/healthz", EVERYONE),
    Row("GET", "/api/v1/openapi.json", EVERYONE),
    Row("GET", "/api/v1/docs", EVERYONE),
    Row("GET", "/api/v1/neighbourhood", EVERYONE),
    Row("GET", "/api/v1/agencies", EVERYONE),
    # the audit log: public and read-only (the proofs answer 422 without their parameters)
    Row("GET", "/audit", EVERYONE),
    Row("GET", "/api/v1/audit/checkpoint", EVERYONE),
    Row("GET", "/api/v1/audit/checkpoints", EVERYONE),
    Row("GET", "/api/v1/audit/entries", EVERYONE),
    Row("GET", "/api/v1/audit/proofs/inclusion", EVERYONE),
    Row("GET", "/api/v1/audit/proofs/consistency", EVERYONE),
    # joining, signing in, recovering: open to all
    Row("GET", "/register", EVERYONE),
    Row("POST", "/register", EVERYONE, form={
        "email": "matrix@example.org", "display_name": "Matrix", "password": NEW_PASSWORD,
        "home_lat": "45.5", "home_lon": "-122.6"}),
    Row("GET", "/signin", EVERYONE),
    Row("POST", "/signin", EVERYONE, form={"email": "resident_b@example.org",
                                           "password": support.PASSWORD}),
    Row("GET", "/verify-email/{token}", EVERYONE),
    Row("GET", "/password/forgot", EVERYONE),
    Row("POST", "/password/forgot", EVERYONE, form={"email": "resident_a@example.org"}),
    Row("GET", "/password/reset/{token}", EVERYONE),
    Row("POST", "/password/reset/{token}", EVERYONE, form={"password": NEW_PASSWORD}),
    Row("GET", "/invite/{token}", EVERYONE),
    Row("POST", "/invite/{token}", EVERYONE, form={"password": NEW_PASSWORD}),
    Row("GET", "/dev/mail", NOBODY),  # development deployments only: test_dev_mail_*
    # any session, including one still owing its second step
    Row("GET", "/signin/mfa", SIGNED_IN),
    Row("POST", "/signin/mfa", SIGNED_IN, form={"code": "000000"}),
    Row("POST", "/signout", SIGNED_IN),
    Row("GET", "/account/mfa", SIGNED_IN),
    Row("POST", "/account/mfa/start", SIGNED_IN),
    Row("POST", "/account/mfa/confirm", SIGNED_IN, form={"code": "000000"}),
    # one's own account
    Row("GET", "/account", SIGNED_IN),
    Row("GET", "/api/v1/me", SIGNED_IN),
    # one's own entries in the audit log, opened; an agency's staff, for its supervisors
    Row("GET", "/account/audit", SIGNED_IN),
    Row("GET", "/account/audit.json", SIGNED_IN),
    Row("GET", "/api/v1/me/audit-openings", SIGNED_IN),
    Row("GET", "/api/v1/agency/audit-openings", X_SUPERVISORS),
    Row("POST", "/account/password", SIGNED_IN,
        form={"current": support.PASSWORD, "password": NEW_PASSWORD}),
    Row("POST", "/account/tokens", SIGNED_IN, form={"name": "matrix", "scopes": "read"}),
    Row("POST", "/account/mfa/recovery-codes", SIGNED_IN),
    Row("POST", "/account/mfa/disable", SIGNED_IN),
    Row("POST", "/account/sessions/{session_id}/end", OWNER),
    Row("POST", "/account/tokens/{token_id}/revoke", OWNER),
    # cameras: residents, and only the owner for one camera
    Row("GET", "/cameras", RESIDENTS),
    Row("POST", "/cameras", RESIDENTS, form=CAMERA_FORM),
    Row("POST", "/cameras/{camera_id}/opt-in", OWNER, form={"opted_in": "true"}),
    Row("POST", "/cameras/{camera_id}/device-token", OWNER),
    Row("POST", "/cameras/{camera_id}/device-token/revoke", OWNER),
    Row("GET", "/api/v1/me/cameras", RESIDENTS),
    Row("POST", "/api/v1/me/cameras", RESIDENTS,
        json={"name": "Matrix cam", "lat": 45.51, "lon": -122.65}),
    Row("PATCH", "/api/v1/cameras/{camera_id}", OWNER, json={"opted_in": False}),
    Row("POST", "/cameras/{camera_id}/retention", OWNER, form={"retention_days": "30"}),
    # clips: uploads only with a device token (never a cookie); playback for the owner only
    Row("POST", "/api/v1/cameras/{camera_id}/clips?recorded_at=2026-11-02T08:00:00Z", NOBODY,
        json={}),
    Row("GET", "/api/v1/me/clips", RESIDENTS),
    Row("GET", "/clips", RESIDENTS),
    Row("GET", "/clips/{clip_id}", OWNER),
    Row("GET", "/clips/{clip_id}/video", OWNER),
    Row("GET", "/clips/{clip_id}/poster.jpg", OWNER),
    Row("POST", "/clips/{clip_id}/delete", OWNER),
    # redacted copies: the clip's owner only (other residents 404, staff and admins 403)
    Row("GET", "/clips/{clip_id}/redact", OWNER),
    Row("POST", "/clips/{clip_id}/redact", OWNER, form={"style": "blur"}),
    Row("GET", "/redactions/{copy_id}", OWNER),
    Row("GET", "/redactions/{copy_id}/video", OWNER),
    Row("GET", "/redactions/{copy_id}/{kind}/{number}.jpg", OWNER),
    Row("POST", "/redactions/{copy_id}/again", OWNER, form={"style": "pixelate"}),
    Row("POST", "/redactions/{copy_id}/approve", OWNER),
    Row("POST", "/redactions/{copy_id}/delete", OWNER),
    Row("GET", "/api/v1/clips/{clip_id}/redactions", OWNER),
    Row("POST", "/api/v1/clips/{clip_id}/redactions", OWNER, json={"style": "blur"}),
    Row("GET", "/api/v1/redactions/{copy_id}", OWNER),
    Row("GET", "/api/v1/redactions/{copy_id}/video", OWNER),
    Row("POST", "/api/v1/redactions/{copy_id}/approve", OWNER, json={}),
    Row("DELETE", "/api/v1/redactions/{copy_id}", OWNER),
    # agency staff management: that agency's admins and platform admins
    Row("GET", "/agency", frozenset({"admin_x"})),
    Row("GET", "/agencies/{agency_id}/staff", X_ADMINS),
    Row("POST", "/agencies/{agency_id}/staff", X_ADMINS, form={
        "email": "newhire@agency.example", "display_name": "New Hire", "role": "officer"}),
    Row("GET", "/api/v1/agencies/{agency_id}/staff", X_ADMINS),
    Row("POST", "/accounts/{account_id}/role", X_ADMINS, form={"role": "supervisor"}),
    Row("POST", "/accounts/{account_id}/disable", X_ADMINS),
    Row("POST", "/accounts/{account_id}/unlock", X_ADMINS),
    # video requests: the agency's staff; approval by its supervisors
    Row("GET", "/requests", STAFF),
    Row("POST", "/requests", STAFF, form={
        "case_number": "M-1", "incident_type": "theft", "incident_time": "2026-11-02T07:20Z",
        "lat": "45.5122", "lon": "-122.6587", "radius_m": "200",
        "window_start": "2026-11-02T07:00Z", "window_end": "2026-11-02T08:00Z",
        "description": "A bicycle was taken from a porch; who took it?",
        "retention_days": "30", "contact": "Desk 555-0100"}),
    Row("GET", "/requests/{request_id}", X_STAFF),
    Row("POST", "/requests/{pending_id}/approve", X_SUPERVISORS,
        form={"justification": "Wide area because the suspect ran through the park."}),
    Row("POST", "/requests/{pending_id}/reject", X_SUPERVISORS,
        form={"reason": "Too wide for a stolen bicycle; ask for one street."}),
    Row("POST", "/requests/{request_id}/withdraw", X_STAFF),
    Row("GET", "/evidence/{evidence_id}/video", X_STAFF),
    # the evidence locker export: staff of the holding agency (refusals are audited)
    Row("POST", "/evidence/{evidence_id}/export", X_STAFF),
    Row("POST", "/api/v1/evidence/{evidence_id}/export", X_STAFF),
    # legal holds on a case's evidence and the case's closing: its supervisors (a closing
    # is refused with 409 while residents can still answer: past authorisation)
    Row("POST", "/requests/{request_id}/holds", X_SUPERVISORS,
        form={"reason": "Kept for the trial of the bicycle theft.", "until": "2027-01-01"}),
    Row("POST", "/requests/{request_id}/holds/{hold_id}/release", X_SUPERVISORS),
    Row("POST", "/requests/{request_id}/close-case", X_SUPERVISORS),
    Row("GET", "/api/v1/requests/{request_id}/holds", X_STAFF),
    Row("POST", "/api/v1/requests/{request_id}/holds", X_SUPERVISORS,
        json={"reason": "Kept for the trial of the bicycle theft.",
              "until": "2027-01-01T00:00:00Z"}),
    Row("POST", "/api/v1/requests/{request_id}/holds/{hold_id}/release", X_SUPERVISORS,
        json={}),
    Row("POST", "/api/v1/requests/{request_id}/close-case", X_SUPERVISORS, json={}),
    Row("GET", "/api/v1/requests", STAFF),
    # re-sharing evidence: any staff of the agency holding it (the owner's consent decides
    # where it may go: an unknown agency is refused with 422, past authorisation); the
    # copies shared with an agency: its staff
    Row("GET", "/evidence", STAFF),
    Row("GET", "/evidence/{evidence_id}/share", X_STAFF),
    Row("POST", "/evidence/{evidence_id}/share", X_STAFF, form={
        "to_agency_id": "00000000-0000-4000-8000-000000000000",
        "reason": "The county is investigating the same bicycle thefts."}),
    Row("POST", "/api/v1/evidence/{evidence_id}/reshare", X_STAFF, json={
        "to_agency_id": "00000000-0000-4000-8000-000000000000",
        "reason": "The county is investigating the same bicycle thefts."}),
    Row("GET", "/api/v1/evidence/{evidence_id}/shares", X_STAFF),
    Row("GET", "/api/v1/evidence/received", STAFF),
    # the reach preview: staff (agency Y is unverified here: past authorisation, then refused)
    Row("GET", "/api/v1/requests/reach?lat=45.5122&lon=-122.6587&radius_m=200", STAFF),
    Row("POST", "/api/v1/requests", STAFF, json={
        "case_number": "M-2", "incident_type": "theft", "incident_time": "2026-11-02T07:20Z",
        "lat": 45.5122, "lon": -122.6587, "radius_m": 200,
        "window_start": "2026-11-02T07:00Z", "window_end": "2026-11-02T08:00Z",
        "description": "A bicycle was taken from a porch; who took it?",
        "retention_days": 30, "contact": "Desk 555-0100"}),
    Row("GET", "/api/v1/requests/{request_id}", X_STAFF),
    Row("POST", "/api/v1/requests/{pending_id}/approve", X_SUPERVISORS,
        json={"justification": "Wide area because the suspect ran through the park."}),
    Row("POST", "/api/v1/requests/{pending_id}/reject", X_SUPERVISORS,
        json={"reason": "Too wide for a stolen bicycle; ask for one street."}),
    Row("POST", "/api/v1/requests/{request_id}/withdraw", X_STAFF, json={}),
    # the resident's inbox: their own deliveries only
    Row("GET", "/api/v1/inbox", RESIDENTS),
    Row("GET", "/api/v1/inbox/{delivery_id}", OWNER),
    Row("POST", "/api/v1/inbox/{delivery_id}/consent", OWNER,
        json={"clips": ["x"], "scope": "this_agency", "disclosure_sha256": "0" * 64}),
    Row("POST", "/api/v1/inbox/{delivery_id}/decline", OWNER, json={}),
    Row("POST", "/api/v1/inbox/{delivery_id}/revoke", OWNER, json={}),
    Row("POST", "/api/v1/inbox/{delivery_id}/deletion", OWNER, json={}),
    Row("GET", "/inbox", RESIDENTS),
    Row("GET", "/inbox/{delivery_id}", OWNER),
    Row("POST", "/inbox/{delivery_id}/consent", OWNER,
        form={"scope": "this_agency", "disclosure_sha256": "0" * 64, "clips": "x"}),
    Row("POST", "/inbox/{delivery_id}/decline", OWNER),
    Row("POST", "/inbox/{delivery_id}/revoke", OWNER),
    Row("POST", "/inbox/{delivery_id}/deletion", OWNER),
    # where is my footage: the resident's own copies only; deletion requests: the holder's
    # staff see them, its supervisors and admins answer (409 here: none was asked for)
    Row("GET", "/footage", RESIDENTS),
    Row("GET", "/footage.json", RESIDENTS),
    Row("GET", "/api/v1/me/footage", RESIDENTS),
    Row("GET", "/deletion-requests", STAFF),
    Row("GET", "/api/v1/agency/deletion-requests", STAFF),
    Row("POST", "/deletion-requests/{consent_id}/answer", X_SUPERVISORS,
        form={"answer": "deleted"}),
    Row("POST", "/api/v1/deletion-requests/{consent_id}/answer", X_SUPERVISORS,
        json={"answer": "deleted"}),
    # platform administration
    Row("GET", "/admin/agencies", PLATFORM),
    Row("POST", "/admin/agencies", PLATFORM, form={
        "name": "Matrix Fire", "kind": "fire_ems", "center_lat": "45.5",
        "center_lon": "-122.6", "radius_m": "5000"}),
    Row("POST", "/admin/agencies/{agency_id}/verify", PLATFORM),
    Row("GET", "/admin/jobs", PLATFORM),
    Row("POST", "/admin/jobs/{job_id}/retry", PLATFORM),  # 409 for a job that is not dead
    # legal demands: platform admins record, fulfil (409 once fulfilled: past
    # authorisation) and withdraw; the agency's staff read theirs, its supervisors document
    # an emergency; the admin dashboard flags the undocumented ones
    Row("GET", "/admin", PLATFORM),
    Row("GET", "/admin/legal-demands", PLATFORM),
    Row("POST", "/admin/legal-demands", PLATFORM, form={"demand_type": "warrant"}),
    Row("GET", "/admin/legal-demands/{demand_id}", PLATFORM),
    Row("GET", "/admin/legal-demands/{demand_id}/fulfil", PLATFORM),
    Row("POST", "/admin/legal-demands/{demand_id}/fulfil", PLATFORM),
    Row("POST", "/admin/legal-demands/{demand_id}/withdraw", PLATFORM),
    Row("GET", "/legal-demands", STAFF),
    Row("GET", "/legal-demands/{demand_id}", X_STAFF),
    Row("POST", "/legal-demands/{demand_id}/documentation", X_SUPERVISORS, form={
        "documentation": "A child was missing; the footage could not wait for a court."}),
    Row("GET", "/api/v1/admin/legal-demands", PLATFORM),
    Row("POST", "/api/v1/admin/legal-demands", PLATFORM, json={
        "demand_type": "emergency", "agency_id": "00000000-0000-4000-8000-000000000000",
        "coverage": "cameras", "camera_ids": ["00000000-0000-4000-8000-000000000000"],
        "covers_from": "2026-11-02T07:00:00Z", "covers_to": "2026-11-02T08:00:00Z",
        "retention_days": 30}),
    Row("GET", "/api/v1/admin/legal-demands/{demand_id}", PLATFORM),
    Row("POST", "/api/v1/admin/legal-demands/{demand_id}/fulfil", PLATFORM, json={}),
    Row("POST", "/api/v1/admin/legal-demands/{demand_id}/withdraw", PLATFORM, json={}),
    Row("POST", "/api/v1/agencies", PLATFORM, json={
        "name": "Matrix State", "kind": "state", "center_lat": 45.5, "center_lon": -122.6,
        "radius_m": 90000}),
    # the Neighbors feed: residents and the staff of a verified agency (X) read it; a post
    # is also open to platform admins (moderation); residents post and comment; anyone who
    # sees a post may report it; public-safety posts: a verified agency's supervisors
    Row("GET", "/feed", RESIDENTS | X_STAFF),
    Row("GET", "/feed/new", RESIDENTS),
    Row("GET", "/feed/mine", RESIDENTS),
    Row("POST", "/feed/new", RESIDENTS, form={"category": "pet", "title": "Matrix cat"}),
    Row("GET", "/feed/posts/{post_id}", RESIDENTS | X_STAFF | PLATFORM),
    Row("GET", "/feed/posts/{post_id}/media", RESIDENTS | X_STAFF | PLATFORM),
    Row("POST", "/feed/posts/{post_id}/publish", OWNER),  # 409: already published
    Row("POST", "/feed/posts/{post_id}/withdraw", OWNER),
    Row("POST", "/feed/posts/{post_id}/comments", RESIDENTS, form={"body": "Matrix"}),
    Row("POST", "/feed/posts/{post_id}/report", RESIDENTS | X_STAFF | PLATFORM,
        form={"reason": "spam"}),
    Row("GET", "/agency/feed", X_SUPERVISORS),
    Row("POST", "/agency/feed", X_SUPERVISORS, form={
        "category": "safety", "title": "Matrix notice", "lat": "45.5122", "lon": "-122.6587",
        "radius_m": "1000"}),
    Row("GET", "/admin/moderation", PLATFORM),
    Row("POST", "/admin/moderation/posts/{post_id}/remove", PLATFORM,
        form={"reason": "spam", "note": "Matrix removal"}),
    Row("POST", "/admin/moderation/posts/{post_id}/restore", PLATFORM),  # 409: not removed
    Row("POST", "/admin/moderation/comments/{comment_id}/remove", PLATFORM,
        form={"reason": "spam", "note": "Matrix removal"}),
    Row("POST", "/admin/moderation/comments/{comment_id}/restore", PLATFORM),
    Row("POST", "/admin/moderation/reports/{report_id}/dismiss", PLATFORM),
    Row("GET", "/api/v1/feed", RESIDENTS | X_STAFF),
    Row("POST", "/api/v1/feed/posts", RESIDENTS, json={"category": "pet", "title": "Cat"}),
    Row("GET", "/api/v1/feed/posts/{post_id}", RESIDENTS | X_STAFF | PLATFORM),
    Row("POST", "/api/v1/feed/posts/{post_id}/publish", OWNER, json={}),
    Row("POST", "/api/v1/feed/posts/{post_id}/comments", RESIDENTS, json={"body": "Matrix"}),
    Row("POST", "/api/v1/feed/posts/{post_id}/reports", RESIDENTS | X_STAFF | PLATFORM,
        json={"reason": "spam"}),
    Row("POST", "/api/v1/feed/public-safety", X_SUPERVISORS, json={
        "title": "Matrix notice", "location": [45.5122, -122.6587], "radius_m": 1000}),
    Row("POST", "/api/v1/feed/posts/{post_id}/remove", PLATFORM,
        json={"reason": "spam", "note": "Matrix removal"}),
    Row("POST", "/api/v1/feed/posts/{post_id}/restore", PLATFORM, json={}),
]


@dataclass
class Seeded:
    folder: Path
    settings: Settings
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    folder = tmp_path_factory.mktemp("matrix")
    settings = Settings(env="test", data_dir=folder / "var")
    d = support.build_deployment(settings)
    seeded = Seeded(folder=folder, settings=settings)
    for actor in ACTORS:
        browser = d.browser()
        if actor != "anonymous":
            browser.sign_in(d.people[actor])
        seeded.cookies[actor] = dict(browser.cookies.items())
        seeded.csrf[actor] = browser.csrf()
    support.disable(d, "disabled")
    resident_a = d.signed_in("resident_a")
    resident_a.submit("/account/tokens", {"name": "a's token", "scopes": "read"})
    clip_id = _upload_demo_clip(d, resident_a, folder)
    flow = _request_flow(d, clip_id)
    flow.update(_feed_flow(d, clip_id))
    flow.update(_redaction_flow(d, folder))
    with d.container.engine.connect() as connection:
        session_id = connection.execute(select(tables.sessions.c.id).where(
            tables.sessions.c.account_id == d.people["resident_a"].id)).scalars().first()
        token_id = connection.execute(select(tables.api_tokens.c.id)).scalar_one()
        job_id = connection.execute(select(tables.jobs.c.id)).scalars().first()
    seeded.params = {"camera_id": str(d.camera_a), "agency_id": str(d.agency_x),
                     "account_id": str(d.people["officer_x"].id), "session_id": str(session_id),
                     "token_id": str(token_id), "job_id": str(job_id), "token": BOGUS,
                     "clip_id": clip_id, **flow}
    d.container.close()
    yield seeded


def _upload_demo_clip(d: support.Deployment, owner: support.Browser, folder: Path) -> str:
    issued = owner.submit(f"/cameras/{d.camera_a}/device-token")
    token = re.search(r'data-testid="secret">(pld_[\w-]+)<', issued.text).group(1)
    clip = make_demo_clip(folder / "clip.mp4", seconds=1, width=320, height=180)
    recorded = (d.clock.now() - timedelta(hours=1)).isoformat()
    response = d.browser().post(f"/api/v1/cameras/{d.camera_a}/clips", content=clip.read_bytes(),
                                params={"recorded_at": recorded},
                                headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    return response.json()["clip_id"]


def _request_flow(d: support.Deployment, clip_id: str) -> dict[str, str]:
    """An open request with resident A's consent and evidence, and one awaiting approval."""
    from uuid import UUID

    from porchlight.custody.services import evidence, holds
    from porchlight.custody.services.commands import SetLegalHold
    from porchlight.requests.domain.requests import IncidentType, RequestDraft
    from porchlight.requests.services import answers, video_requests
    from porchlight.requests.services.commands import CreateVideoRequest, GrantConsent

    with d.container.uow() as uow:
        uow.agencies.get(d.agency_x).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
        officer = uow.accounts.get(d.people["officer_x"].id)
        resident = uow.accounts.get(d.people["resident_a"].id)
    now = d.clock.now()
    drafts = [RequestDraft(
        case_number=f"M-{radius}", incident_type=IncidentType.THEFT, incident_other=None,
        incident_time=now - timedelta(minutes=70), location=support.HOME_A, radius_m=radius,
        window_start=now - timedelta(hours=2), window_end=now - timedelta(minutes=30),
        description="A bicycle was taken from a porch on Alder St.", retention_days=30,
        sharing_plan=(), contact="Desk 555-0100") for radius in (200, 400)]
    kit = d.container.requests_kit
    request_id, pending_id = (video_requests.create_request(d.container.uow(), kit, officer,
        CreateVideoRequest(x))
                              for x in drafts)
    [item] = answers.inbox(d.container.uow(), resident)
    _, shown = answers.disclosure(d.container.uow(), resident, item.delivery.id)
    consent_id = answers.give_consent(
        d.container.uow(), resident, GrantConsent(item.delivery.id, clip_ids=frozenset({clip_id}),
        scope=answers.SharingScope.THIS_AGENCY, share_contact=False,
            disclosure_sha256=shown.sha256))
    evidence.derive_for_consent(d.container.uow(), d.container.footage, consent_id,
                                d.container.settings.data_dir / "tmp")
    [item_id] = [e.id for e in evidence.agency_evidence(d.container.uow(), officer,
                                                        UUID(str(request_id)))]
    with d.container.uow() as uow:
        supervisor = uow.accounts.get(d.people["supervisor_x"].id)
    hold_id = holds.set_hold(d.container.uow(), kit.policy, supervisor, SetLegalHold(
        request_id, "Kept for the trial of the bicycle theft.", now + timedelta(days=60)))
    demand_id = _legal_demand(d, now)
    return {"request_id": str(request_id), "pending_id": str(pending_id),
            "delivery_id": str(item.delivery.id), "evidence_id": str(item_id),
            "consent_id": str(consent_id),
            "hold_id": str(hold_id), "demand_id": str(demand_id)}


def _feed_flow(d: support.Deployment, clip_id: str) -> dict[str, str]:
    """Resident A's published clip post (not blurred: no engine here), resident B's comment
    on it and B's report of it."""
    from uuid import UUID

    from porchlight.feed.domain.moderation import Reason
    from porchlight.feed.domain.posts import Category
    from porchlight.feed.services import moderation, posting

    author, neighbour = support.actor(d, "resident_a"), support.actor(d, "resident_b")
    post_id = posting.draft_post(d.container.uow(), author, posting.DraftPost(
        Category.SUSPICIOUS, "Matrix post", clip_id=UUID(clip_id), blur=False))
    posting.publish(d.container.uow(), author, post_id)
    comment_id = moderation.add_comment(d.container.uow(), neighbour, post_id, "Seen it")
    report_id = moderation.report(d.container.uow(), neighbour, post_id, Reason.SPAM)
    return {"post_id": str(post_id), "comment_id": str(comment_id),
            "report_id": str(report_id)}


def _redaction_flow(d: support.Deployment, folder: Path) -> dict[str, str]:
    """A finished redacted copy (the real engine) of a clip of resident A's with faces in
    it; the copy's pages show the first face found."""
    from porchlight.redaction.domain.options import RedactionOptions
    from porchlight.redaction.services import copies
    from tests.integration.faces_clip import write_clip

    write_clip(folder / "faces.mp4", 320, 180, seconds=1.0, fps=10)
    _, [clip_id] = support.add_camera_with_clips(d, "resident_a", support.HOME_A,
                                                 [folder / "faces.mp4"], [timedelta(hours=1)])
    copy_id = copies.request_copy(d.container.uow(), support.actor(d, "resident_a"),
                                  clip_id, RedactionOptions())
    return {"copy_id": str(copy_id), "kind": "faces", "number": "0", "face_clip_id": str(clip_id)}


def _legal_demand(d: support.Deployment, now):
    """An emergency request from agency X covering resident A's camera, fulfilled and not
    yet documented."""
    from porchlight.custody.domain.demands import Coverage, DemandTerms, DemandType
    from porchlight.custody.services import demands
    from porchlight.custody.services.commands import FulfilLegalDemand, RecordLegalDemand
    from porchlight.kernel.domain.policies import SYSTEM

    demand_id = demands.record_demand(
        d.container.uow(), d.container.requests_kit.policy, SYSTEM, RecordLegalDemand(
            DemandTerms(DemandType.EMERGENCY, d.agency_x, None, None, Coverage.CAMERAS,
                        camera_ids=(d.camera_a,), covers_from=now - timedelta(hours=2),
                        covers_to=now - timedelta(minutes=30), retention_days=30)))
    demands.fulfil_demand(d.container.uow(), SYSTEM, FulfilLegalDemand(demand_id))
    return demand_id


class Site:
    """The seeded deployment, or a private copy of it for a request that changes things."""

    def __init__(self, seeded: Seeded, *, copy: bool, workdir: Path) -> None:
        data = seeded.settings.data_dir
        if copy:
            data = workdir / "var"
            shutil.copytree(seeded.settings.data_dir, data)
        settings = seeded.settings.model_copy(update={"data_dir": data})
        clock = FixedClock(support.T0)
        clock.advance(timedelta(minutes=10))
        self.container = bootstrap.build(settings, clock=clock, mailer=support.RecordingMailer())
        self.app = create_app(container=self.container)

    def request(self, seeded: Seeded, actor: str, row: Row):
        client = TestClient(self.app)
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            if name in seeded.cookies[actor]:
                client.cookies.set(name, seeded.cookies[actor][name])
        path = row.path.format(**seeded.params)
        headers = {"x-csrf-token": seeded.csrf[actor]} if row.json is not None else {}
        form = {**row.form, "csrf_token": seeded.csrf[actor]} if row.form else None
        if row.mutates and form is None and row.json is None:
            form = {"csrf_token": seeded.csrf[actor]}
        return client.request(row.method, path, data=form, json=row.json, headers=headers,
                              follow_redirects=False)


def _app_routes() -> set[tuple[str, str]]:
    found = set()
    for router in ROUTERS:
        for route in router.routes:
            for method in getattr(route, "methods", set()) - {"HEAD"}:
                found.add((method, route.path.replace("{pending_id}", "{request_id}")))
    found |= {("GET", "/healthz"), ("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/docs")}
    return found


def test_every_route_has_a_row() -> None:
    rows = {(row.method, row.path.split("?")[0].replace("{pending_id}", "{request_id}"))
            for row in ROWS}
    missing = _app_routes() - rows
    assert not missing, f"routes with no authorisation row: {sorted(missing)}"
    stale = rows - _app_routes()
    assert not stale, f"rows for routes that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.method} {r.path}" for r in ROWS])
def test_route_allows_exactly_the_expected_callers(
    seeded: Seeded, row: Row, tmp_path: Path
) -> None:
    shared = None if row.mutates else Site(seeded, copy=False, workdir=tmp_path)
    outcomes = {}
    for actor in ACTORS:
        site = shared or Site(seeded, copy=True, workdir=tmp_path / actor)
        response = site.request(seeded, actor, row)
        assert response.status_code < 500, (actor, response.text[:300])
        outcomes[actor] = response.status_code
        if site is not shared:
            site.container.close()
    allowed = {actor for actor, status in outcomes.items() if status not in (401, 403, 404)}
    assert allowed == set(row.allowed), outcomes
    if shared:
        shared.container.close()


def test_denials_do_not_reveal_whether_an_object_exists(seeded: Seeded, tmp_path: Path) -> None:
    site = Site(seeded, copy=False, workdir=tmp_path)
    real = Row("PATCH", "/api/v1/cameras/{camera_id}", OWNER, json={"opted_in": True})
    ghost = Row("PATCH", "/api/v1/cameras/00000000-0000-4000-8000-000000000000", OWNER,
                json={"opted_in": True})
    for actor in ("resident_b", "officer_x", "platform_admin"):
        first, second = site.request(seeded, actor, real), site.request(seeded, actor, ghost)
        assert (first.status_code, first.json()) == (second.status_code, second.json())
    site.container.close()
