"""Clips end to end on the real adapters: device upload, hostile input, playback, retention."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from porchlight.config import Settings
from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.footage.services import retention
from porchlight.kernel.adapters.db import tables
from tests.e2e.support import Deployment, build_deployment

HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def demo_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_clip(tmp_path_factory.mktemp("clips") / "door.mp4", seconds=3, seed=4)


@pytest.fixture
def d(settings: Settings) -> Deployment:
    small = settings.model_copy(update={"storage": settings.storage.model_copy(
        update={"max_upload_bytes": 2 * 1024 * 1024})})
    return build_deployment(small)


@pytest.fixture
def device(d: Deployment) -> str:
    owner = d.signed_in("resident_a")
    issued = owner.submit(f"/cameras/{d.camera_a}/device-token")
    return re.search(r'data-testid="secret">(pld_[\w-]+)<', issued.text).group(1)


def upload(d: Deployment, token: str, body, **params):
    recorded = (d.clock.now() - timedelta(hours=2)).isoformat()
    return d.browser().post(
        f"/api/v1/cameras/{d.camera_a}/clips", content=body,
        params={"recorded_at": recorded, **params},
        headers={"authorization": f"Bearer {token}", "content-type": "video/mp4"})


def leftovers(d: Deployment) -> tuple[int, list[Path], list[Path]]:
    with d.container.engine.connect() as connection:
        rows = len(connection.execute(select(tables.clips)).all())
    data = d.container.settings.data_dir
    objects = [p for p in (data / "footage").rglob("*") if p.is_file()]
    temp = [p for p in (data / "tmp" / "uploads").glob("*")] if (data / "tmp").exists() else []
    return rows, objects, temp


def test_a_device_uploads_and_the_owner_plays_it_back(d, device, demo_clip) -> None:
    data = demo_clip.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    response = upload(d, device, data, sha256=digest)
    assert response.status_code == 201, response.text
    clip_id = response.json()["clip_id"]
    rows, objects, temp = leftovers(d)
    assert rows == 1 and len(objects) == 2 and temp == []
    stored = b"".join(p.read_bytes() for p in objects)
    assert data[:4096] not in stored and data[-4096:] not in stored  # encrypted at rest

    owner = d.signed_in("resident_a")
    [listed] = owner.get("/api/v1/me/clips").json()
    assert listed["sha256"] == digest and listed["video_codec"] == "h264"
    assert listed["width"] == 640 and 2.5 < listed["duration_seconds"] < 3.5
    whole = owner.get(f"/clips/{clip_id}/video")
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"
    part = owner.get(f"/clips/{clip_id}/video", headers={"range": "bytes=100-2099"})
    assert part.status_code == 206 and part.content == data[100:2100]
    assert part.headers["content-range"] == f"bytes 100-2099/{len(data)}"
    tail = owner.get(f"/clips/{clip_id}/video", headers={"range": "bytes=-10"})
    assert tail.content == data[-10:]
    beyond = owner.get(f"/clips/{clip_id}/video", headers={"range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    poster = owner.get(f"/clips/{clip_id}/poster.jpg")
    assert poster.content[:2] == b"\xff\xd8" and poster.headers["cache-control"].startswith(
        "private")
    page = owner.get("/clips", headers=HTML).text
    assert f"/clips/{clip_id}/poster.jpg" in page

    again = upload(d, device, data)
    assert again.status_code == 200 and again.json() == {"clip_id": clip_id, "created": False}


def test_nobody_else_can_play_it(d, device, demo_clip) -> None:
    clip_id = upload(d, device, demo_clip.read_bytes()).json()["clip_id"]
    for key in ("resident_b", "officer_x", "platform_admin"):
        other = d.signed_in(key)
        for path in (f"/clips/{clip_id}/video", f"/clips/{clip_id}/poster.jpg"):
            assert other.get(path).status_code in (403, 404)
    assert d.browser().get(f"/clips/{clip_id}/video").status_code == 401
    with d.container.engine.connect() as connection:
        denied = connection.execute(select(tables.audit_events.c.payload).where(
            tables.audit_events.c.kind == "clip.access_denied")).scalars().all()
    assert len(denied) >= 4 and all(p["reason"] == "not_owner" for p in denied)


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"", 415, "video_rejected"),
    (b"hello, this is not a video at all\n" * 10, 415, "video_rejected"),
    (b"#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:10,\n/etc/passwd\n", 415, "video_rejected"),
])
def test_hostile_uploads_are_refused_and_leave_nothing(d, device, body, status, code) -> None:
    response = upload(d, device, body)
    assert response.status_code == status
    assert response.json()["error"]["code"].startswith(code)
    assert leftovers(d) == (0, [], [])


def test_a_wrong_digest_or_an_oversized_body_leaves_nothing(d, device, demo_clip) -> None:
    wrong = upload(d, device, demo_clip.read_bytes(), sha256="0" * 64)
    assert wrong.status_code == 422 and "SHA-256" in wrong.json()["error"]["message"]
    big = upload(d, device, b"\0" * (3 * 1024 * 1024))
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    assert big.headers["connection"] == "close"  # the rest of the body is not wanted

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap is enforced while streaming
        for _ in range(48):
            yield b"\0" * 65536

    streamed = upload(d, device, chunks())
    assert streamed.status_code == 413
    assert leftovers(d) == (0, [], [])


def test_an_upload_cut_off_half_way_leaves_nothing(d, device, demo_clip) -> None:
    data = demo_clip.read_bytes()

    def dies_half_way() -> Iterator[bytes]:
        yield data[: len(data) // 2]
        raise ConnectionResetError("the camera lost its connection")

    with pytest.raises((ConnectionResetError, ExceptionGroup)):
        upload(d, device, dies_half_way())
    assert leftovers(d) == (0, [], [])


def test_only_a_device_token_for_this_camera_may_upload(d, device, demo_clip) -> None:
    owner = d.signed_in("resident_a")
    created = owner.submit("/account/tokens", {"name": "x", "scopes": ["read", "write"]})
    personal = re.search(r'data-testid="secret">(plt_[\w-]+)<', created.text).group(1)
    assert upload(d, personal, demo_clip.read_bytes()).status_code == 401
    assert upload(d, "pld_forged", demo_clip.read_bytes()).status_code == 401
    owner.submit(f"/cameras/{d.camera_a}/device-token/revoke")
    assert upload(d, device, demo_clip.read_bytes()).status_code == 401
    assert leftovers(d)[0] == 0


def _device_last_used(d: Deployment):
    with d.container.engine.connect() as connection:
        return connection.execute(select(tables.device_tokens.c.last_used_at).where(
            tables.device_tokens.c.revoked_at.is_(None))).scalar_one()


def test_a_device_tokens_use_is_recorded_once_a_minute_not_per_upload(
    d, device, demo_clip
) -> None:
    data = demo_clip.read_bytes()
    assert _device_last_used(d) is None
    assert upload(d, device, data).status_code == 201
    first = _device_last_used(d)
    assert first is not None
    d.clock.advance(timedelta(seconds=30))
    assert upload(d, device, data + b"\0\0\0\x08free").status_code == 201
    assert _device_last_used(d) == first  # no write for this one
    d.clock.advance(timedelta(seconds=31))
    assert upload(d, device, data + b"\0\0\0\x09free!").status_code == 201
    assert _device_last_used(d) == first + timedelta(seconds=61)


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even an `except Exception`."""


@pytest.mark.parametrize("kill_at", ["after_shred", "after_first_delete", "after_deletes"])
def test_retention_killed_anywhere_then_rerun_leaves_nothing_readable(
    d, device, demo_clip, kill_at, monkeypatch
) -> None:
    clip_id = upload(d, device, demo_clip.read_bytes()).json()["clip_id"]
    d.clock.advance(timedelta(days=61))  # the demo camera keeps footage 60 days
    store = d.container.footage.store
    deletes = {"count": 0}
    real_delete = store.delete

    def dying_delete(key: str) -> None:
        if kill_at == "after_shred":
            raise Killed
        real_delete(key)
        deletes["count"] += 1
        if kill_at == "after_first_delete" or deletes["count"] == 2:
            raise Killed

    monkeypatch.setattr(store, "delete", dying_delete)
    uploads = d.container.settings.data_dir / "tmp" / "uploads"
    with pytest.raises(Killed):
        retention.run(d.container.uow(), store, uploads)
    with d.container.engine.connect() as connection:
        row = connection.execute(select(tables.clips)).one()
    assert row.wrapped_key is None  # unreadable from the first step on

    monkeypatch.setattr(store, "delete", real_delete)
    report = retention.run(d.container.uow(), store, uploads)
    assert report.purged == 1
    rows, objects, _ = leftovers(d)
    with d.container.engine.connect() as connection:
        row = connection.execute(select(tables.clips)).one()
    assert rows == 1 and objects == [] and row.deleted_at is not None
    assert str(row.id) == clip_id
    again = retention.run(d.container.uow(), store, uploads)
    assert (again.expired, again.purged) == (0, 0)
    owner = d.signed_in("resident_a")
    assert owner.get(f"/clips/{clip_id}/video").status_code == 404


def test_the_device_token_page_says_where_the_camera_uploads(d: Deployment, demo_clip) -> None:
    """The page is the only place a new owner learns the camera's id and upload address."""
    owner = d.signed_in("resident_a")
    page = owner.submit(f"/cameras/{d.camera_a}/device-token").text
    token = re.search(r'data-testid="secret">(pld_[\w-]+)<', page).group(1)
    url = re.search(r'data-testid="upload-url">([^<]+)<', page).group(1)
    assert url == f"{d.container.settings.base_url}/api/v1/cameras/{d.camera_a}/clips"
    path = url.replace(d.container.settings.base_url, "")
    sent = d.browser().post(path, content=demo_clip.read_bytes(),  # exactly as the page says
                            params={"recorded_at": (d.clock.now() - timedelta(hours=1))
                                    .isoformat()},
                            headers={"authorization": f"Bearer {token}",
                                     "content-type": "video/mp4"})
    assert sent.status_code == 201


def test_the_workers_sweep_shreds_expired_clips_and_their_jobs_delete_the_bytes(
    d, device, demo_clip
) -> None:
    """The periodic sweep only shreds (quick, in the sweep); the bytes go by ``clip.purge``
    jobs, run at once here (the test deployment's inline queue)."""
    clip_id = upload(d, device, demo_clip.read_bytes()).json()["clip_id"]
    uploads = d.container.settings.data_dir / "tmp" / "uploads"
    early = retention.sweep(d.container.uow(), d.container.footage.store, uploads)
    assert early.expired == 0 and leftovers(d)[1] != []  # not yet due: nothing touched
    d.clock.advance(timedelta(days=61))
    report = retention.sweep(d.container.uow(), d.container.footage.store, uploads)
    assert (report.expired, report.purged) == (1, 0)
    rows, objects, _ = leftovers(d)
    assert rows == 1  # the row stays, marked
    with d.container.engine.connect() as connection:
        row = connection.execute(select(tables.clips)).one()
        job = connection.execute(select(tables.jobs).where(
            tables.jobs.c.key == f"clip.purge:{clip_id}")).one()
    assert objects == [] and row.deleted_at is not None and row.deletion_reason == "retention"
    assert job.state == "done"
    again = retention.sweep(d.container.uow(), d.container.footage.store, uploads)
    assert again.expired == 0


def test_an_upload_is_not_held_to_the_cap_on_other_bodies(settings, demo_clip) -> None:
    """Forms and JSON are capped at `max_body_bytes`; a clip upload only at its own cap."""
    tiny = settings.model_copy(update={"storage": settings.storage.model_copy(
        update={"max_body_bytes": 1024})})
    d = build_deployment(tiny)
    assert demo_clip.stat().st_size > 1024
    owner = d.signed_in("resident_a")
    issued = owner.submit(f"/cameras/{d.camera_a}/device-token")
    token = re.search(r'data-testid="secret">(pld_[\w-]+)<', issued.text).group(1)
    response = upload(d, token, demo_clip.read_bytes())
    assert response.status_code == 201, response.text
    cameras = owner.get("/api/v1/me/cameras").json()
    refused = owner.submit("/cameras", {"name": "x" * 2048, "lat": "45.5", "lon": "-122.6"},
                           headers={"accept": "text/html"})
    assert refused.status_code == 413
    assert "larger than the 1 KiB limit" in refused.text  # the error page, in plain words
    assert owner.get("/api/v1/me/cameras").json() == cameras


@pytest.mark.parametrize("content_type", [
    "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_a_form_sent_to_the_upload_path_is_held_to_the_cap_on_other_bodies(
        settings, content_type) -> None:
    """The upload's own cap is for raw video; a form posted there would be parsed whole
    (for its CSRF token) before the missing device token refused it."""
    d = build_deployment(settings.model_copy(update={"storage": settings.storage.model_copy(
        update={"max_body_bytes": 64 * 1024})}))
    body = "&".join(f"f{i}=" + "a" * 30 * 1024 for i in range(3))
    for path in (f"/api/v1/cameras/{d.camera_a}/clips", "/api/v1/cameras/anything/clips"):
        response = d.browser().post(path, content=body, headers={
            "content-type": content_type, "cookie": "x=1"})
        assert (response.status_code, response.json()["error"]["code"]) == (413, "too_large")
