"""Blurring bystanders on the real stack: the owner asks for a copy on the page, the job
runs the engine, the owner previews it (video, the frames in doubt, the faces found) and
approves it; "blur bystanders" then sends the agency a copy made from it, never from the
clip. Nobody else can see or act on a copy; deleting the clip shreds its copies; the job
is idempotent and a run killed after publishing leaves only an orphan the sweep removes."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from porchlight import bootstrap
from porchlight.config import Settings
from porchlight.entrypoints import cli
from porchlight.footage.services import retention
from porchlight.kernel.adapters.db import tables
from porchlight.redaction.domain.options import RedactionOptions
from porchlight.redaction.services import copies
from porchlight.redaction.services.ports import RedactionFailed
from porchlight.requests.services import answers, video_requests
from porchlight.requests.services.commands import CreateVideoRequest
from tests.conftest import skip_or_fail
from tests.e2e.support import (
    HOME_A,
    Deployment,
    actor,
    add_camera_with_clips,
    draft,
    verified_deployment,
)


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        from tests.integration.faces_clip import write_clip
    except ImportError as exc:  # scikit-image is in the test extra
        skip_or_fail(f"the faces clip needs scikit-image: {exc}")
    try:
        bootstrap.build_redactor(Settings(env="test")).check()
    except RedactionFailed as exc:
        skip_or_fail(f"no face detector model: {exc}")
    path = tmp_path_factory.mktemp("redaction-flow") / "faces.mp4"
    write_clip(path, 480, 270, seconds=2.0, fps=15, audio=True)
    return path


@pytest.fixture
def d(settings: Settings) -> Deployment:
    return verified_deployment(settings)


def _clip(d: Deployment, face_clip: Path) -> UUID:
    _, [clip_id] = add_camera_with_clips(d, "resident_a", HOME_A, [face_clip],
                                         [timedelta(hours=2, minutes=50)])
    return clip_id


def _copy_row(d: Deployment, copy_id: str):
    with d.container.engine.connect() as connection:
        return connection.execute(select(tables.redacted_copies).where(
            tables.redacted_copies.c.id == UUID(copy_id))).one()


def _ask(browser, clip_id: UUID, **fields) -> str:
    response = browser.submit(f"/clips/{clip_id}/redact", fields)
    assert response.status_code == 303, response.text
    return re.fullmatch(r"/redactions/([0-9a-f-]{36})", response.headers["location"])[1]


def test_the_owner_makes_previews_and_approves_a_blurred_copy(d: Deployment,
                                                               face_clip: Path) -> None:
    clip_id = _clip(d, face_clip)
    owner = d.signed_in("resident_a")
    assert "Blur bystanders" in owner.get(f"/clips/{clip_id}").text
    copy_id = _ask(owner, clip_id, style="pixelate")

    row = _copy_row(d, copy_id)  # the inline queue ran the job after the commit
    assert row.status == "ready"
    with d.container.engine.connect() as connection:
        clip = connection.execute(select(tables.clips).where(
            tables.clips.c.id == clip_id)).one()
    assert row.parent_sha256 == clip.sha256 and row.sha256 != clip.sha256
    assert row.detector == "centerface" and "centerface.onnx" in row.detector_version
    assert row.options["style"] == "pixelate"
    assert len(row.provenance["tracks"]) >= 2  # the two faces of the scene
    assert all(len(track["boxes"]) > 0 for track in row.provenance["tracks"])

    page = owner.get(f"/redactions/{copy_id}")
    assert page.status_code == 200
    assert "Automatic detection can miss faces" in page.text
    assert "Approve this copy" in page.text
    video = owner.get(f"/redactions/{copy_id}/video")
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert hashlib.sha256(video.content).hexdigest() == row.sha256
    assert "no-store" in video.headers["cache-control"]
    faces = re.findall(rf"/redactions/{copy_id}/faces/(\d+)\.jpg", page.text)
    assert faces, "the faces found are shown to pick from"
    image = owner.get(f"/redactions/{copy_id}/faces/{faces[0]}.jpg")
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"

    assert owner.submit(f"/redactions/{copy_id}/approve").status_code == 303
    assert _copy_row(d, copy_id).status == "approved"
    assert "You approved this copy" in owner.get(f"/redactions/{copy_id}").text

    # keep one face visible: a new copy from this one
    track = row.provenance["tracks"][0]["id"]
    again = _ask(owner, clip_id, style="pixelate", keep=str(track))
    assert _copy_row(d, again).options["keep_visible"] == [track]
    assert _copy_row(d, again).status == "ready"


def test_a_bad_form_shows_the_error_beside_the_field_and_keeps_what_was_typed(
        d: Deployment, face_clip: Path) -> None:
    clip_id = _clip(d, face_clip)
    owner = d.signed_in("resident_a")
    response = owner.submit(f"/clips/{clip_id}/redact", {"start": "1.5", "end": "99"})
    assert response.status_code == 422
    assert 'id="f-end-error"' in response.text and 'value="1.5"' in response.text
    with d.container.engine.connect() as connection:
        assert connection.execute(select(tables.redacted_copies)).all() == []


def test_nobody_but_the_owner_sees_or_touches_a_copy(d: Deployment, face_clip: Path) -> None:
    clip_id = _clip(d, face_clip)
    copy_id = _ask(d.signed_in("resident_a"), clip_id)
    for key in ("resident_b", "officer_x", "platform_admin"):
        other = d.signed_in(key)
        for path in (f"/redactions/{copy_id}", f"/redactions/{copy_id}/video",
                     f"/redactions/{copy_id}/faces/0.jpg", f"/clips/{clip_id}/redact",
                     f"/api/v1/redactions/{copy_id}"):
            assert other.get(path).status_code in (403, 404), (key, path)
        for path in (f"/redactions/{copy_id}/approve", f"/redactions/{copy_id}/delete",
                     f"/clips/{clip_id}/redact"):
            assert other.submit(path).status_code in (403, 404), (key, path)
    anonymous = d.browser()
    assert anonymous.get(f"/api/v1/redactions/{copy_id}").status_code == 401
    assert anonymous.get(f"/redactions/{copy_id}/video").status_code in (303, 401)
    row = _copy_row(d, copy_id)
    assert row.status == "ready" and row.wrapped_key is not None  # nothing changed


def test_blur_bystanders_sends_a_copy_of_the_approved_copy_never_the_clip(
        d: Deployment, face_clip: Path) -> None:
    clip_id = _clip(d, face_clip)
    request_id = video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                               actor(d, "officer_x"),
                                               CreateVideoRequest(draft(d)))
    resident = actor(d, "resident_a")
    [item] = answers.inbox(d.container.uow(), resident)
    owner = d.signed_in("resident_a")
    _, shown = answers.disclosure(d.container.uow(), resident, item.delivery.id)
    form = {"clips": str(clip_id), "scope": "this_agency", "blur": "true",
            "disclosure_sha256": shown.sha256}

    refused = owner.submit(f"/inbox/{item.delivery.id}/consent", form)  # nothing approved yet
    assert refused.status_code == 422 and 'id="f-blur-error"' in refused.text
    assert "make a blurred copy" in refused.text

    copy_id = _ask(owner, clip_id)
    assert owner.submit(f"/redactions/{copy_id}/approve").status_code == 303
    assert "blurred copy approved" in owner.get(f"/inbox/{item.delivery.id}").text
    assert owner.submit(f"/inbox/{item.delivery.id}/consent", form).status_code == 303

    with d.container.engine.connect() as connection:
        consent = connection.execute(select(tables.consents)).one()
        [evidence] = connection.execute(select(tables.evidence_items)).all()
    assert consent.blurred_copies == {str(clip_id): copy_id}
    assert evidence.redacted_copy_id == UUID(copy_id)
    assert evidence.request_id == request_id
    copy_row = _copy_row(d, copy_id)
    assert evidence.sha256 not in (copy_row.parent_sha256,)  # not the original's bytes
    officer = d.signed_in("officer_x")
    played = officer.get(f"/evidence/{evidence.id}/video")
    assert played.status_code == 200
    assert hashlib.sha256(played.content).hexdigest() == evidence.sha256
    assert "blurred bystanders" in officer.get(f"/requests/{request_id}").text
    assert "bystanders' faces are covered" in owner.get(f"/inbox/{item.delivery.id}").text


def test_deleting_the_clip_shreds_its_copies_and_their_bytes(d: Deployment,
                                                              face_clip: Path) -> None:
    clip_id = _clip(d, face_clip)
    owner = d.signed_in("resident_a")
    copy_id = _ask(owner, clip_id)
    key = _copy_row(d, copy_id).object_key
    store = d.container.footage.store
    assert store.exists(key)
    assert owner.submit(f"/clips/{clip_id}/delete", {"confirm": "yes"}).status_code == 303
    row = _copy_row(d, copy_id)
    assert row.status == "purged" and row.wrapped_key is None and row.snapshots is None
    assert not store.exists(key)
    assert owner.get(f"/redactions/{copy_id}/video").status_code == 404


def test_the_owner_deletes_a_copy_after_saying_yes(d: Deployment, face_clip: Path) -> None:
    clip_id = _clip(d, face_clip)
    owner = d.signed_in("resident_a")
    copy_id = _ask(owner, clip_id)
    key = _copy_row(d, copy_id).object_key
    asked = owner.submit(f"/redactions/{copy_id}/delete")
    assert asked.status_code == 200 and "Yes, delete it" in asked.text
    assert _copy_row(d, copy_id).status == "ready"  # the first post only asks
    assert owner.submit(f"/redactions/{copy_id}/delete", {"confirm": "yes"}).status_code == 303
    assert _copy_row(d, copy_id).status == "purged"
    assert not d.container.footage.store.exists(key)


def test_a_new_copy_from_a_copys_page_keeps_what_was_typed_on_a_mistake(
        d: Deployment, face_clip: Path) -> None:
    clip_id = _clip(d, face_clip)
    owner = d.signed_in("resident_a")
    copy_id = _ask(owner, clip_id, boxes="0,1,10,10,40,40")
    track = str(_copy_row(d, copy_id).provenance["tracks"][0]["id"])
    bad = owner.submit(f"/redactions/{copy_id}/again", {
        "style": "blur", "boxes": "0.0,1.0,10,10,40,40", "keep": track,
        "new_box": "abc, 1 2"})
    assert bad.status_code == 422
    assert 'id="f-boxes-error"' in bad.text and 'value="abc, 1 2"' in bad.text
    assert f'id="keep-{track}" name="keep" value="{track}" checked' in bad.text
    outside = owner.submit(f"/redactions/{copy_id}/again", {
        "style": "blur", "new_box": "0,1,400,200,200,200"})  # the picture is 480x270
    assert outside.status_code == 422 and "within the 480 by 270 picture" in outside.text
    assert len(_rows(d)) == 1  # nothing was asked for
    good = owner.submit(f"/redactions/{copy_id}/again", {
        "style": "blur", "keep": track, "new_box": "0.5,1.5,100,40,80,80"})  # area 1 dropped
    assert good.status_code == 303
    made = _copy_row(d, good.headers["location"].rsplit("/", 1)[1])
    assert made.options["keep_visible"] == [int(track)]
    assert [b["rect"] for b in made.options["extra_boxes"]] == [
        {"x": 100, "y": 40, "w": 80, "h": 80}]


def test_boxes_are_bounded_before_they_are_numbers(d: Deployment, face_clip: Path) -> None:
    clip_id = _clip(d, face_clip)
    owner = d.signed_in("resident_a")
    headers = {"x-csrf-token": owner.csrf()}
    for box in ("0,1," + "9" * 5000 + ",0,10,10", "0," + "9" * 400 + ",0,0,10,10",
                "0,1,0,0,100000,10", "-1,1,0,0,10,10", "0,1,0,0,10"):
        sent = owner.post(f"/api/v1/clips/{clip_id}/redactions", json={"boxes": [box]},
                          headers=headers)
        assert sent.status_code == 422, (box[:20], sent.text[:200])
    assert _rows(d) == []


def _rows(d: Deployment) -> list:
    with d.container.engine.connect() as connection:
        return connection.execute(select(tables.redacted_copies)).all()


class Killed(BaseException):
    """The process dies at this line (as SIGKILL would: nothing after it runs)."""


def test_the_job_is_idempotent_and_a_killed_run_leaves_only_an_orphan(
        d: Deployment, face_clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip_id = _clip(d, face_clip)
    resident = actor(d, "resident_a")
    store = d.container.footage.store

    # a run killed between publishing the object and committing its row
    real_finish = copies.RedactedCopy.finish

    def killed(self, **kwargs):
        raise Killed

    monkeypatch.setattr(copies.RedactedCopy, "finish", killed)
    with pytest.raises(Killed):  # the inline queue runs the job after the commit
        copies.request_copy(d.container.uow(), resident, clip_id, RedactionOptions())
    with d.container.engine.connect() as connection:
        [row] = connection.execute(select(tables.redacted_copies)).all()
    copy_id = row.id
    assert row.status == "queued"
    assert list(store.keys("redactions/")) == []  # the publish was undone on the way out

    monkeypatch.setattr(copies.RedactedCopy, "finish", real_finish)
    kit = d.container.redaction
    copies.make(d.container.uow(), kit, copy_id)  # the retry finishes it
    copies.make(d.container.uow(), kit, copy_id)  # and again: nothing more
    row = _copy_row(d, str(copy_id))
    assert row.status == "ready"
    assert list(store.keys("redactions/")) == [row.object_key]

    # an object no row names (a run killed after publishing): swept after its grace
    store_path = d.container.settings.data_dir / "orphan.mp4"
    store_path.write_bytes(b"not a copy")
    stamp = (d.clock.now() - timedelta(hours=2)).strftime(retention.KEY_TIME_FORMAT)
    orphan = f"redactions/{resident.id}/{stamp}-{UUID(int=1)}.mp4"
    with store.seal(orphan, store_path, b"k" * 32) as staged:
        staged.publish()
    assert retention.sweep_orphans(d.container.uow(), store, d.clock.now()) == 1
    assert not store.exists(orphan) and store.exists(row.object_key)


def test_the_api_asks_follows_and_approves(d: Deployment, face_clip: Path) -> None:
    clip_id = _clip(d, face_clip)
    owner = d.signed_in("resident_a")
    token = owner.csrf()
    made = owner.post(f"/api/v1/clips/{clip_id}/redactions",
                      json={"style": "blur", "boxes": ["0,1,10,10,40,40"]},
                      headers={"x-csrf-token": token})
    assert made.status_code == 202, made.text
    body = made.json()
    copy = owner.get(f"/api/v1/redactions/{body['id']}").json()
    assert copy["status"] == "ready" and copy["faces"] >= 2
    assert copy["options"]["extra_boxes"][0]["rect"] == {"x": 10, "y": 10, "w": 40, "h": 40}
    bad = owner.post(f"/api/v1/clips/{clip_id}/redactions", json={"boxes": ["nonsense"]},
                     headers={"x-csrf-token": token})
    assert bad.status_code == 422
    approved = owner.post(f"/api/v1/redactions/{body['id']}/approve",
                          headers={"x-csrf-token": token})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    listed = owner.get(f"/api/v1/clips/{clip_id}/redactions").json()
    assert [c["id"] for c in listed] == [body["id"]]


def test_the_cli_makes_a_clips_copy_for_its_owner_with_a_progress_bar(
        d: Deployment, face_clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip_id = _clip(d, face_clip)
    monkeypatch.setenv("PORCHLIGHT_DATA_DIR", str(d.container.settings.data_dir))
    monkeypatch.setenv("PORCHLIGHT_ENV", "test")
    monkeypatch.setenv("PORCHLIGHT_JOBS__BACKEND", "sqlite")  # queued: the command runs it
    runner = CliRunner()
    result = runner.invoke(cli.app, ["redact", str(clip_id), "--style", "pixelate"])
    assert result.exit_code == 0, result.output
    assert "redacting" in result.output and "is ready" in result.output
    with d.container.engine.connect() as connection:
        [row] = connection.execute(select(tables.redacted_copies)).all()
        job = connection.execute(select(tables.jobs).where(
            tables.jobs.c.key == f"redaction.make:{row.id}")).one()
    assert row.status == "ready" and row.options["style"] == "pixelate"
    assert row.owner_id == d.people["resident_a"].id  # the owner's, to approve
    assert job.state == "done" and job.progress_done == job.progress_total > 0
    assert runner.invoke(cli.app, ["redact", "not-a-clip"]).exit_code == 2
    assert runner.invoke(cli.app, ["redact", str(UUID(int=7))]).exit_code == 2
