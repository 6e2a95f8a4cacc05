"""Video requests through the use cases on the real stack: scope, delivery, disclosure, consent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import select

from porchlight.audit.adapters.tables import audit_leaves
from porchlight.config import Settings
from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.footage.services import library
from porchlight.kernel.adapters.db import tables
from porchlight.kernel.domain.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PolicyRefused,
    ValidationFailed,
)
from porchlight.kernel.domain.geo import LatLon
from porchlight.requests.domain.consent import SharingScope
from porchlight.requests.domain.requests import RequestStatus
from porchlight.requests.services import answers, video_requests
from porchlight.requests.services.commands import (
    ApproveVideoRequest,
    AskForDeletion,
    CreateVideoRequest,
    DeclineRequest,
    GrantConsent,
    RevokeConsent,
)
from tests.e2e.support import (
    HOME_A,
    HOME_B,
    Deployment,
    RecordingMailer,
    actor,
    add_camera_with_clips,
    build_deployment,
    draft,
)

FAR = LatLon(45.60, -122.50)  # ~12 km away


@dataclass(frozen=True)
class Shared:
    """Resident A's one clip, shared with officer X's request under its first consent."""

    request_id: UUID
    consent_id: UUID
    delivery_id: UUID
    clip_id: UUID


def share_one_clip(d: Deployment, clip_files: list[Path]) -> Shared:
    _, a_clips = add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1],
                                       [timedelta(hours=2, minutes=50)])
    request_id = video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                               actor(d, "officer_x"),
                                               CreateVideoRequest(draft(d)))
    resident = actor(d, "resident_a")
    [item] = answers.inbox(d.container.uow(), resident)
    _, shown = answers.disclosure(d.container.uow(), resident, item.delivery.id)
    consent_id = answers.give_consent(d.container.uow(), resident, GrantConsent(
        item.delivery.id, clip_ids=frozenset({str(a_clips[0])}),
        scope=SharingScope.THIS_AGENCY, share_contact=False, disclosure_sha256=shown.sha256))
    return Shared(request_id, consent_id, item.delivery.id, a_clips[0])


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("req")
    return [make_demo_clip(folder / f"{n}.mp4", seconds=2, width=320, height=180, seed=n)
            for n in range(3)]


@pytest.fixture
def d(settings: Settings) -> Deployment:
    deployment = build_deployment(settings)
    with deployment.container.uow() as uow:
        for agency_id in (deployment.agency_x, deployment.agency_y):
            uow.agencies.get(agency_id).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    return deployment


def test_a_small_request_reaches_exactly_the_right_residents(d: Deployment, clip_files) -> None:
    in_window = [timedelta(hours=2, minutes=50), timedelta(hours=2, minutes=30)]
    _, a_clips = add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:2], in_window)
    add_camera_with_clips(d, "resident_b", HOME_B, clip_files[2:], [timedelta(hours=2, minutes=40)])
    add_camera_with_clips(d, "disabled", FAR, clip_files[:1], [timedelta(hours=2, minutes=45)])
    kit = d.container.requests_kit
    request_id = video_requests.create_request(d.container.uow(), kit, actor(d, "officer_x"),
                                               CreateVideoRequest(draft(d)))
    with d.container.uow() as uow:
        request = uow.requests.get(request_id)
        deliveries = uow.deliveries.for_request(request_id)
    assert request.status is RequestStatus.OPEN
    assert {x.resident_id for x in deliveries} == {d.people["resident_a"].id,
                                                   d.people["resident_b"].id}
    assert d.mailer.last_link("resident_a@example.org").endswith("/inbox")
    assert video_requests.deliver(d.container.uow(), kit, request_id) == 0  # idempotent

    item, shown = answers.disclosure(d.container.uow(), actor(d, "resident_a"),
                                   next(x.id for x in deliveries
                                        if x.resident_id == d.people["resident_a"].id))
    assert shown.agency == "Agency X Police" and shown.retention_days == 90
    assert {c.id for c in shown.clips} == {str(c) for c in a_clips}
    with pytest.raises(NotFound):  # resident B cannot read A's delivery
        answers.disclosure(d.container.uow(), actor(d, "resident_b"), item.delivery.id)

    consent_id = answers.give_consent(
        d.container.uow(), actor(d, "resident_a"), GrantConsent(item.delivery.id,
        clip_ids=frozenset({str(a_clips[0])}), scope=SharingScope.THIS_AGENCY, share_contact=False,
        disclosure_sha256=shown.sha256))
    with d.container.engine.connect() as connection:
        row = connection.execute(select(tables.consents)).one()
        assert row.id == consent_id and row.clip_ids == [str(a_clips[0])]
        with pytest.raises(Exception, match="immutable"):  # the terms cannot be rewritten
            connection.execute(tables.consents.update().values(scope="local_or_state"))
    with pytest.raises(Conflict):
        answers.decline(d.container.uow(), actor(d, "resident_a"), DeclineRequest(item.delivery.id))


def test_a_stale_disclosure_or_a_foreign_clip_is_refused(d: Deployment, clip_files) -> None:
    add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1], [timedelta(hours=2, minutes=50)])
    _, b_clips = add_camera_with_clips(d, "resident_b", HOME_B, clip_files[1:2],
                                       [timedelta(hours=2, minutes=50)])
    kit = d.container.requests_kit
    video_requests.create_request(d.container.uow(), kit, actor(d, "officer_x"),
        CreateVideoRequest(draft(d)))
    [item] = answers.inbox(d.container.uow(), actor(d, "resident_a"))
    _, shown = answers.disclosure(d.container.uow(), actor(d, "resident_a"), item.delivery.id)
    common = dict(scope=SharingScope.THIS_AGENCY, share_contact=False)
    with pytest.raises(ValidationFailed, match="changed"):
        answers.give_consent(d.container.uow(), actor(d, "resident_a"), GrantConsent(
            item.delivery.id, clip_ids=frozenset({shown.clips[0].id}),
            disclosure_sha256="0" * 64, **common))
    with pytest.raises(ValidationFailed, match="only clips"):
        answers.give_consent(d.container.uow(), actor(d, "resident_a"), GrantConsent(
            item.delivery.id, clip_ids=frozenset({str(b_clips[0])}),
            disclosure_sha256=shown.sha256, **common))
    answers.decline(d.container.uow(), actor(d, "resident_a"), DeclineRequest(item.delivery.id))


def test_wide_requests_wait_for_another_supervisor(d: Deployment, clip_files) -> None:
    add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1], [timedelta(hours=2, minutes=50)])
    kit = d.container.requests_kit
    wide = draft(d, radius_m=600)
    request_id = video_requests.create_request(d.container.uow(), kit, actor(d, "officer_x"),
                                               CreateVideoRequest(wide))
    with d.container.uow() as uow:
        assert uow.requests.get(request_id).status is RequestStatus.AWAITING_APPROVAL
        assert uow.deliveries.for_request(request_id) == []
    justification = "The suspect fled on foot through several back yards towards the river."
    with pytest.raises(PermissionDenied):
        video_requests.approve(d.container.uow(), kit, actor(d, "officer_x"),
            ApproveVideoRequest(request_id,
                               justification))
    with pytest.raises(NotFound):  # another agency's supervisor cannot even see it
        video_requests.approve(d.container.uow(), kit, actor(d, "officer_y"),
            ApproveVideoRequest(request_id,
                               justification))
    video_requests.approve(d.container.uow(), kit, actor(d, "supervisor_x"),
        ApproveVideoRequest(request_id,
                           justification))
    with d.container.uow() as uow:
        assert len(uow.deliveries.for_request(request_id)) == 1


def test_refusals_are_audited_and_create_nothing(d: Deployment) -> None:
    kit = d.container.requests_kit
    with pytest.raises(PolicyRefused) as refused:
        video_requests.create_request(d.container.uow(), kit, actor(d, "officer_x"),
                                      CreateVideoRequest(draft(d, radius_m=900)))
    assert refused.value.rule == "radius_too_large"
    with d.container.engine.connect() as connection:
        assert connection.execute(select(tables.video_requests)).all() == []
        payload = connection.execute(select(tables.audit_events.c.payload).where(
            tables.audit_events.c.kind == "request.refused")).scalar_one()
    assert payload["reason"] == "radius_too_large"
    with pytest.raises(PermissionDenied):
        video_requests.create_request(d.container.uow(), kit, actor(d, "resident_a"),
            CreateVideoRequest(draft(d)))


def test_requests_close_at_their_deadline(d: Deployment, clip_files) -> None:
    add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1], [timedelta(hours=2, minutes=50)])
    kit = d.container.requests_kit
    request_id = video_requests.create_request(d.container.uow(), kit, actor(d, "officer_x"),
                                               CreateVideoRequest(draft(d)))
    d.clock.advance(timedelta(days=6, hours=23))
    assert video_requests.close_due(d.container.uow()) == 0
    d.clock.advance(timedelta(hours=1))
    assert video_requests.close_due(d.container.uow()) == 1
    with d.container.uow() as uow:
        assert uow.requests.get(request_id).status is RequestStatus.CLOSED
    [item] = answers.inbox(d.container.uow(), actor(d, "resident_a"))
    _, shown = answers.disclosure(d.container.uow(), actor(d, "resident_a"), item.delivery.id)
    with pytest.raises(Conflict, match="closed"):
        answers.give_consent(d.container.uow(), actor(d, "resident_a"),
            GrantConsent(item.delivery.id,
                           clip_ids=frozenset({shown.clips[0].id}), scope=SharingScope.THIS_AGENCY,
                           share_contact=False, disclosure_sha256=shown.sha256))


def test_evidence_revocation_and_deletion_requests(d: Deployment, clip_files) -> None:
    from porchlight.custody.services import evidence

    _, a_clips = add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1],
                                       [timedelta(hours=2, minutes=50)])
    kit = d.container.requests_kit
    request_id = video_requests.create_request(d.container.uow(), kit, actor(d, "officer_x"),
                                               CreateVideoRequest(draft(d)))
    resident = actor(d, "resident_a")
    [item] = answers.inbox(d.container.uow(), resident)
    _, shown = answers.disclosure(d.container.uow(), resident, item.delivery.id)
    consent_id = answers.give_consent(d.container.uow(), resident, GrantConsent(item.delivery.id,
                                    clip_ids=frozenset({str(a_clips[0])}),
                                        scope=SharingScope.THIS_AGENCY,
                                    share_contact=False, disclosure_sha256=shown.sha256))
    work = d.container.settings.data_dir / "tmp"
    # the consent's job made the copy after its commit; running the work again adds nothing
    assert evidence.derive_for_consent(d.container.uow(), d.container.footage, consent_id,
                                       work) == 0
    officer = actor(d, "officer_x")
    [received] = evidence.agency_evidence(d.container.uow(), officer, request_id)
    with d.container.uow() as uow:
        source = uow.clips.get(a_clips[0])
    assert received.source_sha256 == source.sha256 and received.sha256 != source.sha256
    assert received.covers_from >= source.recorded_at
    # the source's SHA-256, which the agency now holds, leads nowhere in the public log:
    # it appears in the custody event only, never in the upload's
    with d.container.engine.connect() as connection:
        events = connection.execute(select(tables.audit_events.c.kind,
                                           tables.audit_events.c.payload)).all()
        versions = set(connection.execute(select(tables.audit_events.c.version).where(
            tables.audit_events.c.kind == "clip.uploaded")).scalars())
    assert versions == {2}  # the commitment's version; version 1 carried the plain hash
    naming_it = {kind for kind, payload in events if source.sha256 in str(payload)}
    assert naming_it == {"evidence.received"}
    [uploaded] = [payload for kind, payload in events
                  if kind == "clip.uploaded" and payload["clip_id"] == str(source.id)]
    data_key = d.container.security.vault.open(source.wrapped_key,
                                               context=f"clip:{source.id}".encode())
    assert uploaded["sha256_commitment"] == library.audit_commitment(data_key, source.sha256)
    with pytest.raises(NotFound):
        evidence.agency_evidence(d.container.uow(), actor(d, "officer_y"), request_id)

    # before the agency opens it, the resident can take it back: the copy is destroyed
    answers.revoke_consent(d.container.uow(), d.container.footage.store, resident,
                         RevokeConsent(item.delivery.id))
    assert evidence.agency_evidence(d.container.uow(), officer, request_id) == []
    assert not d.container.footage.store.exists(received.object_key)
    with pytest.raises(NotFound):
        evidence.open_evidence(d.container.uow(), d.container.footage, officer, received.id,
                               record=True)


def test_a_consent_revoked_while_its_copy_is_sealed_publishes_nothing(
        d: Deployment, clip_files, monkeypatch: pytest.MonkeyPatch) -> None:
    """The copy is sealed into staging; the consent is withdrawn before it is published:
    the staging is discarded, no object appears and no evidence item is written."""
    from porchlight.custody.services import evidence
    from tests.integration.test_row_locks import HeldQueue

    _, a_clips = add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1],
                                       [timedelta(hours=2, minutes=50)])
    video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                  actor(d, "officer_x"), CreateVideoRequest(draft(d)))
    resident, store = actor(d, "resident_a"), d.container.footage.store
    [item] = answers.inbox(d.container.uow(), resident)
    _, shown = answers.disclosure(d.container.uow(), resident, item.delivery.id)
    d.container.jobs.queue = HeldQueue()  # the derivation job waits: this test runs it
    consent_id = answers.give_consent(d.container.uow(), resident, GrantConsent(item.delivery.id,
                                    clip_ids=frozenset({str(a_clips[0])}),
                                        scope=SharingScope.THIS_AGENCY,
                                    share_contact=False, disclosure_sha256=shown.sha256))
    seal, sealed = store.seal, []

    def seal_then_revoke(key: str, plaintext: Path, data_key: bytes):
        sealed.append(seal(key, plaintext, data_key))
        answers.revoke_consent(d.container.uow(), store, resident, RevokeConsent(item.delivery.id))
        return sealed[-1]

    monkeypatch.setattr(store, "seal", seal_then_revoke)
    evidence.derive_for_consent(d.container.uow(), d.container.footage, consent_id,
                                d.container.settings.data_dir / "tmp")
    assert [staged.state for staged in sealed] == ["discarded"]
    assert list(store.keys("evidence/")) == []
    assert not any(store.objects.staging.iterdir())
    with d.container.uow().reading() as uow:
        assert list(uow.evidence.for_consent(consent_id)) == []


def test_after_opening_only_a_deletion_request_remains(d: Deployment, clip_files) -> None:
    from porchlight.custody.services import evidence

    _, a_clips = add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1],
                                       [timedelta(hours=2, minutes=50)])
    kit = d.container.requests_kit
    request_id = video_requests.create_request(d.container.uow(), kit, actor(d, "officer_x"),
                                               CreateVideoRequest(draft(d)))
    resident, officer = actor(d, "resident_a"), actor(d, "officer_x")
    [item] = answers.inbox(d.container.uow(), resident)
    _, shown = answers.disclosure(d.container.uow(), resident, item.delivery.id)
    consent_id = answers.give_consent(d.container.uow(), resident, GrantConsent(item.delivery.id,
                                    clip_ids=frozenset({str(a_clips[0])}),
                                        scope=SharingScope.THIS_AGENCY,
                                    share_contact=False, disclosure_sha256=shown.sha256))
    evidence.derive_for_consent(d.container.uow(), d.container.footage, consent_id,
                                d.container.settings.data_dir / "tmp")
    [received] = evidence.agency_evidence(d.container.uow(), officer, request_id)
    opened, data_key = evidence.open_evidence(d.container.uow(), d.container.footage, officer,
                                              received.id, record=True)
    assert opened.first_opened_at is not None and len(data_key) == 32
    with pytest.raises(Conflict, match="deletion"):
        answers.revoke_consent(d.container.uow(), d.container.footage.store, resident,
                             RevokeConsent(item.delivery.id))
    answers.ask_for_deletion(d.container.uow(), resident, AskForDeletion(item.delivery.id))
    counts = video_requests.counts(d.container.uow(), kit, officer, request_id)
    assert counts.deletion_requests == 1 and counts.shared == 1
    assert counts.declined is None and counts.no_response is None  # still open


def test_decline_and_silence_counts_appear_only_after_close_and_from_five(
    d: Deployment, clip_files
) -> None:
    from tests.e2e.support import _resident

    keys = [f"neighbour_{n}" for n in range(9)]
    for n, key in enumerate(keys):
        home = LatLon(HOME_A.lat + n * 1e-4, HOME_A.lon)  # about 11 m apart
        d.people[key] = _resident(d, key, home)
        add_camera_with_clips(d, key, home, clip_files[n % 3: n % 3 + 1],
                              [timedelta(hours=2, minutes=50)])
    kit = d.container.requests_kit
    officer = actor(d, "officer_x")
    request_id = video_requests.create_request(d.container.uow(), kit, officer,
        CreateVideoRequest(draft(d)))
    for key in keys[:5]:  # five decline, four stay silent
        [item] = answers.inbox(d.container.uow(), actor(d, key))
        answers.decline(d.container.uow(), actor(d, key), DeclineRequest(item.delivery.id))
    open_counts = video_requests.counts(d.container.uow(), kit, officer, request_id)
    assert (open_counts.delivered, open_counts.declined, open_counts.no_response) == (9, None,
                                                                                      None)
    d.clock.advance(timedelta(days=8))
    video_requests.close_due(d.container.uow())
    closed = video_requests.counts(d.container.uow(), kit, officer, request_id)
    assert closed.declined == 5  # at least five: shown
    assert closed.no_response is None  # four: too few to show without singling anyone out


def test_the_json_api_walks_the_same_flow(d: Deployment, clip_files) -> None:
    _, a_clips = add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:2],
                                       [timedelta(hours=2, minutes=50),
                                        timedelta(hours=2, minutes=30)])
    officer = d.signed_in("officer_x")
    start = d.clock.now() - timedelta(hours=3)
    body = {"case_number": "API-1", "incident_type": "robbery",
            "incident_time": (start + timedelta(minutes=5)).isoformat(),
            "lat": HOME_A.lat, "lon": HOME_A.lon, "radius_m": 150,
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=1)).isoformat(),
            "description": "A phone was snatched at the bus stop on Alder St.",
            "retention_days": 60, "contact": "Desk 555-0100"}
    csrf = {"x-csrf-token": officer.csrf()}
    made = officer.post("/api/v1/requests", json=body, headers=csrf)
    assert made.status_code == 201 and made.json()["status"] == "open"
    request_id = made.json()["id"]
    refused = officer.post("/api/v1/requests", json={**body, "radius_m": 5000}, headers=csrf)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "policy_refused.radius_too_large"

    resident = d.signed_in("resident_a")
    [entry] = resident.get("/api/v1/inbox").json()
    shown = resident.get(f"/api/v1/inbox/{entry['delivery_id']}").json()
    assert {c["id"] for c in shown["disclosure"]["clips"]} == {str(c) for c in a_clips}
    given = resident.post(f"/api/v1/inbox/{entry['delivery_id']}/consent", headers={
        "x-csrf-token": resident.csrf()}, json={
        "clips": [str(a_clips[1])], "scope": "this_agency",
        "disclosure_sha256": shown["disclosure_sha256"]})
    assert given.status_code == 201
    assert given.json()["evidence_job"] == {"state": "done", "done": 1, "total": 1}  # inline

    detail = officer.get(f"/api/v1/requests/{request_id}").json()
    assert (detail["delivered"], detail["shared"], len(detail["evidence"])) == (None, 1, 1)
    assert "resident" not in str(detail).lower()
    other = d.signed_in("officer_y")
    assert other.get(f"/api/v1/requests/{request_id}").status_code == 404


def test_a_job_that_failed_half_way_finishes_on_its_retry(
    d: Deployment, clip_files, monkeypatch
) -> None:
    """The evidence job loses its machine after the first of two copies: the job is left
    pending with a later time; the retry makes the one missing copy, not the first again."""
    from porchlight.custody.services import evidence
    from porchlight.jobs.domain.jobs import JobState
    from porchlight.jobs.services import jobs

    _, a_clips = add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:2],
                                       [timedelta(hours=2, minutes=50),
                                        timedelta(hours=2, minutes=30)])
    kit = d.container.requests_kit
    request_id = video_requests.create_request(d.container.uow(), kit, actor(d, "officer_x"),
                                               CreateVideoRequest(draft(d)))
    resident = actor(d, "resident_a")
    [item] = answers.inbox(d.container.uow(), resident)
    _, shown = answers.disclosure(d.container.uow(), resident, item.delivery.id)
    real_trim, calls = d.container.footage.video.trim, {"n": 0}

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("the worker machine lost power")
        return real_trim(*args, **kwargs)

    monkeypatch.setattr(d.container.footage.video, "trim", crash_on_second)
    consent_id = answers.give_consent(
        d.container.uow(), resident,
            GrantConsent(item.delivery.id, clip_ids=frozenset({str(c) for c in a_clips}),
        scope=SharingScope.THIS_AGENCY, share_contact=False, disclosure_sha256=shown.sha256))
    officer = actor(d, "officer_x")
    assert len(evidence.agency_evidence(d.container.uow(), officer, request_id)) == 1
    job = jobs.job_state(d.container.uow(), f"evidence.derive:{consent_id}")
    assert (job.state, job.attempts, job.error) == (
        JobState.PENDING, 1, "OSError")  # the class only: a message may name a person
    assert d.container.jobs.wake_due() == 0  # not before its retry time
    d.clock.advance(timedelta(seconds=5))
    assert d.container.jobs.wake_due() == 1
    job = jobs.job_state(d.container.uow(), f"evidence.derive:{consent_id}")
    assert (job.state, job.attempts, job.progress_done, job.progress_total) == (
        JobState.DONE, 2, 1, 1)
    items = evidence.agency_evidence(d.container.uow(), officer, request_id)
    assert {str(i.source_clip_id) for i in items} == {str(c) for c in a_clips}
    assert calls["n"] == 3  # the first clip was not trimmed twice


def test_contact_details_reach_the_agency_only_when_ticked(d: Deployment, clip_files) -> None:
    from porchlight.custody.services import evidence

    _, a_clips = add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1],
                                       [timedelta(hours=2, minutes=50)])
    _, b_clips = add_camera_with_clips(d, "resident_b", HOME_B, clip_files[1:2],
                                       [timedelta(hours=2, minutes=50)])
    kit = d.container.requests_kit
    request_id = video_requests.create_request(d.container.uow(), kit, actor(d, "officer_x"),
                                               CreateVideoRequest(draft(d)))
    for key, clips, tick in (("resident_a", a_clips, True), ("resident_b", b_clips, False)):
        resident = actor(d, key)
        [item] = answers.inbox(d.container.uow(), resident)
        _, shown = answers.disclosure(d.container.uow(), resident, item.delivery.id)
        answers.give_consent(d.container.uow(), resident, GrantConsent(item.delivery.id,
                           clip_ids=frozenset({str(clips[0])}), scope=SharingScope.THIS_AGENCY,
                           share_contact=tick, disclosure_sha256=shown.sha256))
    officer = actor(d, "officer_x")
    [contact] = evidence.shared_contacts(d.container.uow(), d.container.security, officer,
                                         request_id)
    assert contact.email == "resident_a@example.org"
    with d.container.engine.connect() as connection:
        kinds = connection.execute(select(tables.audit_events.c.kind)).scalars().all()
    assert kinds.count("consent.contact_disclosed") == 1
    with pytest.raises(NotFound):
        evidence.shared_contacts(d.container.uow(), d.container.security,
                                 actor(d, "officer_y"), request_id)


def test_the_disclosure_and_the_box_name_the_same_contact_details(d: Deployment,
                                                                 clip_files) -> None:
    add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1],
                          [timedelta(hours=2, minutes=50)])
    video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                  actor(d, "officer_x"), CreateVideoRequest(draft(d)))
    [item] = answers.inbox(d.container.uow(), actor(d, "resident_a"))
    page = d.signed_in("resident_a").get(f"/inbox/{item.delivery.id}").text
    assert "Your contact details (name, e-mail, and postal address if you gave one) are " \
        "<strong>not</strong> sent unless you tick “Share my contact details” below." in page
    assert "Share my contact details (name, e-mail" in page  # the box the line points to


def test_the_public_log_never_says_who_answered(d: Deployment, clip_files) -> None:
    """Declines, consents and camera places: nothing in the audit log points at a resident."""
    _, a_clips = add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1],
                                       [timedelta(hours=2, minutes=50)])
    add_camera_with_clips(d, "resident_b", HOME_B, clip_files[1:2],
                          [timedelta(hours=2, minutes=50)])
    kit = d.container.requests_kit
    video_requests.create_request(d.container.uow(), kit, actor(d, "officer_x"),
        CreateVideoRequest(draft(d)))
    resident_a, resident_b = actor(d, "resident_a"), actor(d, "resident_b")
    [item_a] = answers.inbox(d.container.uow(), resident_a)
    [item_b] = answers.inbox(d.container.uow(), resident_b)
    _, shown = answers.disclosure(d.container.uow(), resident_a, item_a.delivery.id)
    answers.give_consent(d.container.uow(), resident_a, GrantConsent(item_a.delivery.id,
                       clip_ids=frozenset({str(a_clips[0])}), scope=SharingScope.THIS_AGENCY,
                       share_contact=False, disclosure_sha256=shown.sha256))
    answers.decline(d.container.uow(), resident_b, DeclineRequest(item_b.delivery.id))
    d.clock.advance(timedelta(minutes=1))
    d.container.audit_sequencer().run_pass()
    with d.container.engine.connect() as connection:
        leaves = [json.loads(data) for data in connection.execute(
            select(audit_leaves.c.data)).scalars()]
        rows = connection.execute(select(tables.audit_events)).all()
    [delivered] = [leaf for leaf in leaves if leaf.get("kind") == "request.delivered"]
    assert delivered["payload"]["residents"] == "under_5"  # two: too few to publish
    public = json.dumps(leaves)
    for secret in (resident_a.id, resident_b.id, item_a.delivery.id, item_b.delivery.id):
        assert str(secret) not in public
    # The answers are resident events: only commitments reach the log; inside, each
    # names its resident so that they, and only they, can open it.
    answered = {r.kind: r.actor_id for r in rows if r.kind in (
        "consent.granted", "delivery.declined")}
    assert answered == {"consent.granted": resident_a.id, "delivery.declined": resident_b.id}
    assert not any(leaf.get("kind") in answered for leaf in leaves)
    assert all("h3_cell" not in r.payload for r in rows if r.kind == "camera.registered")


def test_reading_evidence_from_any_offset_is_custody_and_ends_revocation(
    d: Deployment, clip_files
) -> None:
    _, a_clips = add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1],
                                       [timedelta(hours=2, minutes=50)])
    kit = d.container.requests_kit
    request_id = video_requests.create_request(d.container.uow(), kit, actor(d, "officer_x"),
                                               CreateVideoRequest(draft(d)))
    owner = d.signed_in("resident_a")
    [entry] = owner.get("/api/v1/inbox").json()
    shown = owner.get(f"/api/v1/inbox/{entry['delivery_id']}").json()
    owner.post(f"/api/v1/inbox/{entry['delivery_id']}/consent",
               headers={"x-csrf-token": owner.csrf()},
               json={"clips": [str(a_clips[0])], "scope": "this_agency",
                     "disclosure_sha256": shown["disclosure_sha256"]})
    officer = d.signed_in("officer_x")
    [item] = officer.get(f"/api/v1/requests/{request_id}").json()["evidence"]
    sneaky = officer.get(f"/evidence/{item['id']}/video", headers={"range": "bytes=1-"})
    assert sneaky.status_code == 206
    revoke = owner.post(f"/api/v1/inbox/{entry['delivery_id']}/revoke",
                        headers={"x-csrf-token": owner.csrf()})
    assert revoke.status_code == 409  # opened: only a deletion request is left
    with d.container.engine.connect() as connection:
        viewed = connection.execute(select(tables.audit_events).where(
            tables.audit_events.c.kind == "evidence.viewed")).all()
    assert len(viewed) == 1 and viewed[0].actor_id == d.people["officer_x"].id


@pytest.mark.parametrize("change", ["opted out", "clip deleted"])
def test_a_change_between_the_search_and_the_write_is_honoured(
    d: Deployment, clip_files, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """Delivery searches in a snapshot, then writes: a resident who opts the camera out,
    or deletes the only clip, in between is not reached."""
    camera_id, clips = add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1],
                                             [timedelta(hours=2, minutes=50)])
    search = video_requests._cameras_with_footage

    def search_then_change(uow, request):
        found = search(uow, request)
        owner = actor(d, "resident_a")
        if change == "opted out":
            from porchlight.footage.services import cameras
            from porchlight.footage.services.commands import SetCameraOptIn
            cameras.set_camera_opt_in(d.container.uow(),
                                      owner, SetCameraOptIn(camera_id, False))
        else:
            library.delete_my_clip(d.container.uow(), d.container.footage, owner, clips[0])
        return found

    monkeypatch.setattr(video_requests, "_cameras_with_footage", search_then_change)
    request_id = video_requests.create_request(
        d.container.uow(), d.container.requests_kit, actor(d, "officer_x"),
            CreateVideoRequest(draft(d)))
    with d.container.uow() as uow:
        assert uow.deliveries.for_request(request_id) == []
        assert uow.requests.get(request_id).delivered_at is not None
    assert not [mail for mail in d.mailer.sent if mail.to == "resident_a@example.org"]


class FlakyMailer(RecordingMailer):
    """The mail server refuses the message to one address until it is told to take it."""

    def __init__(self, refuse: str) -> None:
        super().__init__()
        self.refuse: str | None = refuse

    def send(self, mail) -> None:
        if mail.to == self.refuse:
            raise ConnectionRefusedError("mail server down")
        super().send(mail)


def _request_mails(mailer: RecordingMailer) -> list[str]:
    return sorted(m.to for m in mailer.sent if m.subject == video_requests.REQUEST_MAIL_SUBJECT)


def test_a_failed_message_is_retried_and_the_others_still_go(settings: Settings,
                                                             clip_files) -> None:
    """Nothing is marked sent before it was sent; one failure does not stop the rest."""
    mailer = FlakyMailer(refuse="resident_a@example.org")
    d = build_deployment(settings, mailer=mailer)
    with d.container.uow() as uow:
        uow.agencies.get(d.agency_x).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    window = [timedelta(hours=2, minutes=50)]
    add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1], window)
    add_camera_with_clips(d, "resident_b", HOME_B, clip_files[1:2], window)
    kit = d.container.requests_kit
    request_id = video_requests.create_request(d.container.uow(), kit, actor(d, "officer_x"),
                                               CreateVideoRequest(draft(d)))
    assert _request_mails(mailer) == ["resident_b@example.org"]
    with d.container.uow() as uow:
        told = {x.resident_id: x.notified_at for x in uow.deliveries.for_request(request_id)}
    assert told[d.people["resident_a"].id] is None  # not sent, so not marked sent
    assert told[d.people["resident_b"].id] is not None

    assert d.container.jobs.wake_due() == 0  # A's notice waits for its retry time
    d.clock.advance(timedelta(seconds=5))
    d.container.jobs.wake_due()  # still refused: still waiting, longer now
    assert _request_mails(mailer) == ["resident_b@example.org"]
    mailer.refuse = None
    d.clock.advance(timedelta(seconds=10))
    d.container.jobs.wake_due()
    d.clock.advance(timedelta(minutes=10))
    d.container.jobs.wake_due()  # and once sent, never again
    assert _request_mails(mailer) == ["resident_a@example.org", "resident_b@example.org"]


def test_a_head_request_for_the_evidence_is_not_a_view(d: Deployment, clip_files) -> None:
    """HEAD sends no footage: it must not end the resident's right to take it back."""
    from porchlight.custody.services import evidence

    shared = share_one_clip(d, clip_files)
    request_id, resident = shared.request_id, actor(d, "resident_a")
    officer = d.signed_in("officer_x")
    [received] = evidence.agency_evidence(d.container.uow(), actor(d, "officer_x"), request_id)
    head = officer.head(f"/evidence/{received.id}/video")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == received.size_bytes
    assert answers.my_consent(d.container.uow(), resident, shared.delivery_id).evidence_opened is (
        False)
    assert officer.get(f"/evidence/{received.id}/video").status_code == 200
    assert answers.my_consent(d.container.uow(), resident, shared.delivery_id).evidence_opened


def test_withdrawing_and_taking_consent_back_ask_first_and_act_only_when_confirmed(
    d: Deployment, clip_files
) -> None:
    """Both are final: a slip of the finger posts once and gets a question, not the effect."""
    _, a_clips = add_camera_with_clips(d, "resident_a", HOME_A, clip_files[:1],
                                       [timedelta(hours=2, minutes=50)])
    kit = d.container.requests_kit
    request_id = video_requests.create_request(d.container.uow(), kit, actor(d, "officer_x"),
                                               CreateVideoRequest(draft(d)))
    owner = d.signed_in("resident_a")
    [entry] = owner.get("/api/v1/inbox").json()
    delivery = entry["delivery_id"]
    shown = owner.get(f"/api/v1/inbox/{delivery}").json()
    owner.post(f"/api/v1/inbox/{delivery}/consent", headers={"x-csrf-token": owner.csrf()},
               json={"clips": [str(a_clips[0])], "scope": "this_agency",
                     "disclosure_sha256": shown["disclosure_sha256"]})

    asked = owner.submit(f"/inbox/{delivery}/revoke")
    assert asked.status_code == 200 and "Take your consent back?" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    assert owner.get("/api/v1/inbox").json()[0]["status"] == "shared"
    done = owner.submit(f"/inbox/{delivery}/revoke", {"confirm": "yes"})
    assert done.status_code == 303
    assert owner.get("/api/v1/inbox").json()[0]["status"] == "revoked"

    officer = d.signed_in("officer_x")
    asked = officer.submit(f"/requests/{request_id}/withdraw")
    assert asked.status_code == 200 and "Withdraw this request?" in asked.text
    with d.container.uow() as uow:
        assert uow.requests.get(request_id).status is RequestStatus.OPEN
    other = d.signed_in("officer_y")  # the question itself is not shown to another agency
    assert other.submit(f"/requests/{request_id}/withdraw").status_code == 404
    assert officer.submit(f"/requests/{request_id}/withdraw",
                          {"confirm": "yes"}).status_code == 303
    with d.container.uow() as uow:
        assert uow.requests.get(request_id).status is RequestStatus.WITHDRAWN


def test_evidence_is_deleted_when_the_agencys_retention_runs_out_and_the_owner_is_told(
    d: Deployment, clip_files
) -> None:
    """The request promised 90 days: on day 90 the agency's copy is purged (key first,
    then the object by a job), audited, and the resident hears of it."""
    from porchlight.custody.services import evidence
    from porchlight.custody.services import retention as custody_retention

    request_id = share_one_clip(d, clip_files).request_id
    officer = actor(d, "officer_x")
    [copy] = evidence.agency_evidence(d.container.uow(), officer, request_id)
    stored = d.container.settings.data_dir / "footage" / copy.object_key
    assert stored.exists()
    d.mailer.sent.clear()

    d.clock.advance(timedelta(days=89))
    assert custody_retention.expire_due(d.container.uow()) == 0  # not yet
    d.clock.advance(timedelta(days=1, minutes=1))
    assert custody_retention.expire_due(d.container.uow()) == 1
    assert custody_retention.expire_due(d.container.uow()) == 0  # once
    assert evidence.agency_evidence(d.container.uow(), officer, request_id) == []
    assert not stored.exists()  # the evidence.delete job ran (the inline queue)
    assert d.signed_in("officer_x").get(f"/evidence/{copy.id}/video").status_code == 404
    [told] = d.mailer.sent
    assert told.to == "resident_a@example.org" and "Agency X Police" in told.subject
    assert "90 days" in told.body and draft(d).case_number in told.body
    with d.container.engine.connect() as connection:
        [purged] = connection.execute(select(tables.audit_events).where(
            tables.audit_events.c.kind == "evidence.purged")).all()
    assert purged.payload["reason"] == "retention" and purged.actor_id is None


def test_an_evidence_purge_killed_half_way_finishes_once_on_its_rerun(
    d: Deployment, clip_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep commits the purge (key gone, event recorded) and the object's deletion
    dies mid-way: the sweep run again purges nothing twice, the job's retry deletes the
    object, and the owner hears of it once."""
    from porchlight.custody.services import evidence
    from porchlight.custody.services import retention as custody_retention

    request_id = share_one_clip(d, clip_files).request_id
    [copy] = evidence.agency_evidence(d.container.uow(), actor(d, "officer_x"), request_id)
    stored = d.container.settings.data_dir / "footage" / copy.object_key
    store = d.container.footage.store
    real_delete, calls = store.delete, []

    def dies_once(key: str) -> None:
        calls.append(key)
        if len(calls) == 1:
            raise RuntimeError("killed")
        real_delete(key)

    monkeypatch.setattr(store, "delete", dies_once)
    d.mailer.sent.clear()
    d.clock.advance(timedelta(days=90, minutes=1))
    assert custody_retention.expire_due(d.container.uow()) == 1
    assert stored.exists()  # the job died before the object went
    assert custody_retention.expire_due(d.container.uow()) == 0  # the rerun: nothing twice
    with d.container.engine.connect() as connection:
        [job] = connection.execute(select(tables.jobs).where(
            tables.jobs.c.kind == "evidence.delete")).all()
    assert job.state != "done"
    d.clock.advance(timedelta(minutes=1))  # past its back-off
    d.container.jobs.run(job.id)  # its retry
    d.container.jobs.run(job.id)  # and once more: nothing left to do
    assert not stored.exists() and calls.count(copy.object_key) >= 2
    with d.container.engine.connect() as connection:
        purged = connection.execute(select(tables.audit_events).where(
            tables.audit_events.c.kind == "evidence.purged")).all()
    assert len(purged) == 1
    assert [m.to for m in d.mailer.sent] == ["resident_a@example.org"]


def test_an_evidence_copy_left_by_a_derivation_killed_before_its_commit_is_swept(
    d: Deployment, clip_files, tmp_path: Path
) -> None:
    """Published, never committed: after an hour the orphan sweep removes it, and spares
    a copy still in flight and every copy a row names."""
    from uuid import uuid4

    from porchlight.custody.services import evidence
    from porchlight.footage.services import retention

    request_id = share_one_clip(d, clip_files).request_id
    [kept] = evidence.agency_evidence(d.container.uow(), actor(d, "officer_x"), request_id)
    assert "/" + d.clock.now().strftime(retention.KEY_TIME_FORMAT) + "-" in kept.object_key

    store, plain = d.container.footage.store, tmp_path / "bytes"
    plain.write_bytes(b"\0" * 1000)
    folder = f"evidence/{d.agency_x}/{request_id}"
    orphan = f"{folder}/{d.clock.now().strftime(retention.KEY_TIME_FORMAT)}-{uuid4()}.video"
    with store.seal(orphan, plain, b"k" * 32) as staged:
        staged.publish()
    d.clock.advance(timedelta(minutes=30))
    fresh = f"{folder}/{d.clock.now().strftime(retention.KEY_TIME_FORMAT)}-{uuid4()}.video"
    with store.seal(fresh, plain, b"k" * 32) as staged:
        staged.publish()
    d.clock.advance(timedelta(minutes=31))
    assert retention.sweep_orphans(d.container.uow(), store, d.clock.now()) == 1
    assert set(store.keys("evidence/")) == {kept.object_key, fresh}
