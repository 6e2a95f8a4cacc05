"""The worker's scheduled jobs: each runs when due, and one failing does not stop the others.

Also what a start (the app's, the worker's) sweeps: upload temp files nobody holds.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from porchlight.config import Settings
from porchlight.entrypoints.housekeeping import Housekeeping
from porchlight.entrypoints.uploads import upload_dir
from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.footage.services import temp_uploads
from porchlight.requests.domain.requests import RequestStatus
from porchlight.requests.services import video_requests
from porchlight.requests.services.commands import CreateVideoRequest
from tests.e2e.support import HOME_A, actor, add_camera_with_clips, build_deployment, draft
from tests.integration.test_row_locks import HeldQueue


def test_jobs_run_when_due_and_survive_each_others_failures(settings: Settings) -> None:
    d = build_deployment(settings)
    now = {"t": 0.0}
    keeping = Housekeeping(d.container, monotonic=lambda: now["t"])
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise OSError("disk on fire")

    keeping.jobs = [("broken", 10.0, broken), ("fine", 30.0, lambda: ran.append("fine"))]
    keeping()
    keeping()  # nothing is due yet
    now["t"] = 11.0
    keeping()
    now["t"] = 31.0
    keeping()
    assert ran == ["broken", "fine", "broken", "broken", "fine"]


def test_each_pass_does_its_work_on_the_database_and_none_fails(settings: Settings,
                                                                 tmp_path) -> None:
    """A pass's errors are logged, not raised, so "ran without raising" proves nothing: each
    pass must report work done and none may report a failure (a pass that raises after
    doing its work fails here too), and the work must be in the database: a request past
    its deadline closed, a job that lost its wake-up run, an expired clip purged."""
    d = build_deployment(settings)
    with d.container.uow() as uow:
        uow.agencies.get(d.agency_x).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    clip = make_demo_clip(tmp_path / "c.mp4", seconds=1, width=160, height=96, seed=2)
    _, [clip_id] = add_camera_with_clips(d, "resident_a", HOME_A, [clip],
                                         [timedelta(hours=2, minutes=40)])
    lost = HeldQueue()  # the wake-ups are lost, as in a crash right after the commit
    d.container.jobs.queue = lost
    request_id = video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                               actor(d, "officer_x"), CreateVideoRequest(draft(d)))
    assert lost.woken  # the delivery job exists, with no worker told
    d.container.jobs.queue = d.container.queue
    d.clock.advance(timedelta(days=61))  # past the deadline and the camera's 60 days
    keeping = Housekeeping(d.container, monotonic=lambda: 0.0)
    with capture_logs() as logs:
        keeping()
    outcomes = {entry["job"]: entry["event"] for entry in logs if "job" in entry}
    assert outcomes == {"jobs": "job done", "requests": "job done", "retention": "job done"}
    with d.container.uow().reading() as uow:
        assert uow.requests.get(request_id).status is RequestStatus.CLOSED
        assert uow.deliveries.for_request(request_id)  # the lost job was woken and ran
        assert not uow.clips.get(clip_id).is_readable  # retention purged it
    assert [m.to for m in d.mailer.sent if "video request" in m.subject] == [
        "resident_a@example.org"]


def test_the_first_pass_removes_abandoned_temp_uploads_even_if_retention_fails(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = build_deployment(settings)
    folder = upload_dir(d.container.settings.data_dir)
    abandoned = folder / "9e1d.part"  # fresh, but its process is gone: nobody holds it
    abandoned.write_bytes(b"half a clip")
    live = temp_uploads.create(folder)  # an upload of a live app process

    def unreachable(prefix: str):
        raise OSError("object store unreachable")

    monkeypatch.setattr(d.container.footage.store, "keys", unreachable)
    try:
        Housekeeping(d.container, monotonic=lambda: 0.0)()  # `porchlight worker` starts
        assert not abandoned.exists() and live.path.exists()
    finally:
        live.discard()


def test_start_up_removes_abandoned_temp_uploads_but_not_a_live_one(settings: Settings) -> None:
    d = build_deployment(settings)
    folder = upload_dir(d.container.settings.data_dir)
    abandoned = folder / "5f0c6a.part"  # its process is gone: nobody holds its lock
    abandoned.write_bytes(b"half a clip")
    live = temp_uploads.create(folder)  # another app process's upload, still in flight
    try:
        with TestClient(d.app):
            assert not abandoned.exists()
            assert live.path.exists()
    finally:
        live.discard()


def test_start_up_and_the_first_pass_remove_abandoned_staged_footage(
    settings: Settings, tmp_path
) -> None:
    """Footage sealed by a process that died before publishing is swept; footage a live
    process has sealed and not yet published or discarded is not."""
    d = build_deployment(settings)
    store = d.container.footage.store
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"sealed, and not published yet")
    with store.seal("clips/cam/live.video", source, bytes(32)) as live:
        [held] = store.objects.staging.iterdir()
        abandoned = store.objects.staging / ".porchlight-tmp-dead.part"  # nobody holds it
        abandoned.write_bytes(b"ciphertext")
        with TestClient(d.app):
            assert not abandoned.exists() and held.exists()
        abandoned.write_bytes(b"ciphertext")
        Housekeeping(d.container, monotonic=lambda: 0.0)()  # `porchlight worker` starts
        assert not abandoned.exists() and held.exists()
        live.publish()
    assert store.exists("clips/cam/live.video")
