"""Jobs on a real queue: the request that causes one returns before it runs, the worker
threads run it, and a rollback enqueues nothing. The embedded queue (huey on a SQLite file)
and, when PORCHLIGHT_TEST_REDIS_URL is set, huey on Redis."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from porchlight.config import Settings
from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.jobs.domain.jobs import JobState
from porchlight.jobs.services import jobs
from porchlight.kernel.adapters.db import tables
from porchlight.requests.services import video_requests
from porchlight.requests.services.commands import CreateVideoRequest
from tests.conftest import skip_or_fail
from tests.e2e.support import (
    HOME_A,
    Deployment,
    actor,
    add_camera_with_clips,
    build_deployment,
    draft,
)

REDIS_URL = os.environ.get("PORCHLIGHT_TEST_REDIS_URL")


@pytest.fixture(params=["sqlite", "redis"])
def queued(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
           ) -> Iterator[Deployment]:
    if request.param == "redis" and not REDIS_URL:
        skip_or_fail("PORCHLIGHT_TEST_REDIS_URL is not set; the Redis queue test is skipped")
    name = f"test-{uuid.uuid4().hex[:12]}"  # a queue of its own on a shared Redis
    d = build_deployment(settings.model_copy(update={
        "redis_url": REDIS_URL, "jobs": settings.jobs.model_copy(update={
            "backend": request.param, "queue_name": name})}))
    with d.container.uow() as uow:
        uow.agencies.get(d.agency_x).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    clip = make_demo_clip(tmp_path / "c.mp4", seconds=1, width=160, height=96, seed=4)
    add_camera_with_clips(d, "resident_a", HOME_A, [clip], [timedelta(hours=2, minutes=40)])
    yield d
    d.container.close()


def wait_for(check, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the job did not run in time"
        time.sleep(0.05)

def share_by_api(owner) -> tuple[dict, dict, str]:
    """The resident shares their one clip with the one request in their inbox, through
    the API: (inbox entry, clip, consent id)."""
    [entry] = owner.get("/api/v1/inbox").json()
    shown = owner.get(f"/api/v1/inbox/{entry['delivery_id']}").json()
    [clip] = owner.get("/api/v1/me/clips").json()
    given = owner.post(f"/api/v1/inbox/{entry['delivery_id']}/consent",
                       headers={"x-csrf-token": owner.csrf()},
                       json={"clips": [clip["id"]], "scope": "this_agency",
                             "disclosure_sha256": shown["disclosure_sha256"]})
    assert given.status_code == 201
    return entry, clip, given.json()["consent_id"]


def test_the_request_returns_first_and_a_worker_delivers_it(queued: Deployment) -> None:
    d = queued
    request_id = video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                               actor(d, "officer_x"), CreateVideoRequest(draft(d)))
    job = jobs.job_state(d.container.uow(), f"request.deliver:{request_id}")
    assert job.state is JobState.PENDING  # committed and queued, not run by the request
    with d.container.uow().reading() as uow:
        assert uow.deliveries.for_request(request_id) == []
    workers = d.container.start_job_workers()
    try:
        wait_for(lambda: any("video request" in m.subject for m in d.mailer.sent))
    finally:
        workers.stop()
    assert jobs.job_state(d.container.uow(), f"request.deliver:{request_id}").state is (
        JobState.DONE)
    assert [m.to for m in d.mailer.sent if "video request" in m.subject] == [
        "resident_a@example.org"]


def test_a_rolled_back_change_enqueues_nothing(queued: Deployment) -> None:
    d = queued
    with d.container.engine.connect() as connection:
        before = connection.execute(select(func.count()).select_from(tables.jobs)).scalar()
    pending = d.container.queue.pending()
    uow = d.container.uow()
    with uow:
        request = uow.requests.list_for_agency(d.agency_x)  # nothing yet
        assert list(request) == []
        officer = uow.accounts.get(d.people["officer_x"].id)
    with pytest.raises(RuntimeError), d.container.uow() as uow:
        from porchlight.requests.services.video_requests import _new_request

        made = _new_request(officer.id, d.agency_x, draft(d), uow.clock.now(), False)
        made.open(now=uow.clock.now(), deadline=timedelta(days=7), actor_id=officer.id)
        uow.requests.add(made)
        raise RuntimeError("the use case failed before its commit")
    with d.container.engine.connect() as connection:
        after = connection.execute(select(func.count()).select_from(tables.jobs)).scalar()
    assert after == before and d.container.queue.pending() == pending


def test_a_reset_link_is_mailed_by_a_worker_after_the_answer(queued: Deployment) -> None:
    d = queued
    email = d.people["resident_a"].email
    answer = d.browser().submit("/password/forgot", {"email": email})
    assert answer.status_code in (200, 303)
    assert [m for m in d.mailer.sent if m.to == email] == []  # the answer did not wait
    with d.container.engine.connect() as connection:
        [job] = connection.execute(select(tables.jobs).where(
            tables.jobs.c.kind == "mail.link")).all()
        stored = connection.execute(select(tables.one_time_tokens)).all()
    assert job.state == JobState.PENDING.value
    workers = d.container.start_job_workers()
    try:
        wait_for(lambda: any(m.to == email for m in d.mailer.sent))
    finally:
        workers.stop()
    [mail] = [m for m in d.mailer.sent if m.to == email]
    link = d.mailer.last_link(email)
    token = link.rsplit("/", 1)[1].split(".")[0]
    assert all(token not in str(tuple(row)) for row in stored)  # only its digest is kept
    assert mail.key.startswith("link.") and job.args["token_id"] not in mail.key
    form = d.browser().get(link.replace(d.container.settings.base_url, ""))
    assert 'name="password"' in form.text


def test_a_deleted_clip_is_unreadable_at_once_and_a_worker_deletes_its_bytes(
    queued: Deployment,
) -> None:
    d = queued
    with d.container.engine.connect() as connection:
        [clip] = connection.execute(select(tables.clips)).all()
    footage = d.container.settings.data_dir / "footage"
    stored = sorted(p for p in footage.rglob("*") if p.is_file())
    assert stored  # the clip and its poster
    owner = d.signed_in("resident_a")
    answer = owner.submit(f"/clips/{clip.id}/delete", {"confirm": "yes"})
    assert answer.status_code == 303
    with d.container.engine.connect() as connection:
        row = connection.execute(select(tables.clips)).one()
        [job] = connection.execute(select(tables.jobs).where(
            tables.jobs.c.kind == "clip.purge")).all()
    assert row.wrapped_key is None and row.deleted_at is None  # shredded, not yet purged
    assert job.state == JobState.PENDING.value and job.key == f"clip.purge:{clip.id}"
    assert owner.get(f"/clips/{clip.id}/video").status_code == 404
    assert str(clip.id) not in owner.get("/clips").text
    workers = d.container.start_job_workers()
    try:
        wait_for(lambda: jobs.job_state(d.container.uow(), job.key).state is JobState.DONE)
    finally:
        workers.stop()
    with d.container.engine.connect() as connection:
        row = connection.execute(select(tables.clips)).one()
    assert row.deleted_at is not None and row.deletion_reason == "owner_deleted"
    assert [p for p in footage.rglob("*") if p.is_file()] == []


def test_commits_ask_for_one_sequencing_job_per_window_and_a_worker_sequences(
    queued: Deployment,
) -> None:
    """No polling: the events of every commit in a batch window (a minute) are sequenced
    by one ``audit.sequence`` job due at the window's end, as one batch."""
    from porchlight.audit.adapters.tables import audit_leaves

    d = queued
    d.clock.advance(timedelta(minutes=1, seconds=10))  # a fresh window
    with d.container.engine.connect() as connection:
        before = {row.key for row in connection.execute(select(tables.jobs.c.key))}
    for _ in range(3):  # three commits with audit events in the same window
        video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                      actor(d, "officer_x"), CreateVideoRequest(draft(d)))
    with d.container.engine.connect() as connection:
        waiting = [row for row in connection.execute(select(tables.jobs).where(
            tables.jobs.c.kind == "audit.sequence")) if row.key not in before]
        events = connection.execute(select(func.count()).select_from(
            tables.audit_events)).scalar()
    assert len(waiting) == 1  # the three commits share one job
    assert waiting[0].run_after > d.clock.now()  # due at the window's end, not at once
    d.clock.advance(timedelta(seconds=50))
    workers = d.container.start_job_workers()
    # Its wake-up is due in 50 real seconds; the sweeper wakes it now that our clock
    # says the window has ended (as the worker's sweep does when a wake-up is lost).
    assert d.container.jobs.wake_due() >= 1
    try:
        def sequenced() -> bool:
            with d.container.engine.connect() as connection:
                return connection.execute(select(func.count()).select_from(
                    audit_leaves)).scalar() >= events
        wait_for(sequenced)
    finally:
        workers.stop()


def test_the_pages_say_how_the_work_after_a_change_is_going(queued: Deployment) -> None:
    """The resident's consent page and the agency's request page show the job's state:
    waiting before a worker ran it, done after."""
    d = queued
    request_id = video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                               actor(d, "officer_x"), CreateVideoRequest(draft(d)))
    officer = d.signed_in("officer_x")
    waiting = officer.get(f"/requests/{request_id}").text
    assert 'data-state="pending"' in waiting and "Reaching residents:" in waiting
    workers = d.container.start_job_workers()
    try:
        wait_for(lambda: 'data-state="done"' in officer.get(f"/requests/{request_id}").text)
        owner = d.signed_in("resident_a")
        entry, _, _ = share_by_api(owner)
        page = f"/inbox/{entry['delivery_id']}"
        wait_for(lambda: 'data-state="done"' in owner.get(page).text)
    finally:
        workers.stop()
    assert "Copies for Agency X Police: done" in " ".join(owner.get(page).text.split())
    assert "of 1" not in officer.get(f"/requests/{request_id}").text  # no count of people


def test_a_clip_being_copied_for_an_agency_is_not_deleted_under_the_copy(
    queued: Deployment,
) -> None:
    """Consent given, the copy waits for a worker: neither the owner's deletion nor the
    retention sweep may destroy the key first (the agency would silently get nothing)."""
    from porchlight.entrypoints.uploads import upload_dir
    from porchlight.footage.services import retention

    d = queued
    video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                  actor(d, "officer_x"), CreateVideoRequest(draft(d)))
    workers = d.container.start_job_workers()
    try:
        wait_for(lambda: d.signed_in("resident_a").get("/api/v1/inbox").json() != [])
    finally:
        workers.stop()
    owner = d.signed_in("resident_a")
    _, clip, consent_id = share_by_api(owner)
    refused = owner.submit(f"/clips/{clip['id']}/delete", {"confirm": "yes"})
    assert refused.status_code == 409 and "still being made" in refused.text
    d.clock.advance(timedelta(days=61))  # past the camera's retention, the copy still waiting
    report = retention.sweep(d.container.uow(), d.container.footage.store,
                             upload_dir(d.container.settings.data_dir))
    assert report.expired == 0
    with d.container.engine.connect() as connection:
        assert connection.execute(select(tables.clips.c.wrapped_key)).scalar() is not None
    workers = d.container.start_job_workers()
    try:
        wait_for(lambda: jobs.job_state(
            d.container.uow(), f"evidence.derive:{consent_id}").state is JobState.DONE)
    finally:
        workers.stop()
    with d.container.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(
            tables.evidence_items)).scalar() == 1  # the agency got its copy
    again = retention.sweep(d.container.uow(), d.container.footage.store,
                            upload_dir(d.container.settings.data_dir))
    assert again.expired == 1  # and now retention takes the clip
