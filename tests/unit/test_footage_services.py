"""Clip upload, owner-only access and retention, against in-memory fakes."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from porchlight.accounts.services import accounts
from porchlight.accounts.services.commands import RegisterResident
from porchlight.footage.services import cameras, library, retention
from porchlight.footage.services.commands import (
    ReceivedFile,
    RegisterCamera,
    SetCameraRetention,
    UploadClip,
)
from porchlight.kernel.domain.errors import NotFound, ValidationFailed, VideoRejected
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.services.ports import VideoInfo
from tests.unit.fakes import FakeFootageStore, FakeUnitOfWork, FakeVideoTools, XorVault

HOME = LatLon(45.5, -122.6)
INFO = VideoInfo(container="mp4", video_codec="h264", audio_codec=None, width=1280, height=720,
                 frame_rate=15.0, duration_seconds=12.0, rotation=0)


@pytest.fixture
def kit() -> library.Footage:
    return library.Footage(store=FakeFootageStore(), video=FakeVideoTools(INFO),
                           vault=XorVault(), max_upload_bytes=10_000)


@pytest.fixture
def camera(uow: FakeUnitOfWork):
    owner_id = accounts.register_resident(uow, RegisterResident("a@example.org", "A"))
    with uow:
        owner = uow.accounts.get(owner_id)
    camera_id = cameras.register_camera(
        uow, owner, RegisterCamera("Door", HOME, retention_days=7))
    return owner, camera_id


def _file(tmp_path: Path, data: bytes = b"not really a video") -> ReceivedFile:
    path = tmp_path / f"{uuid4().hex}.part"
    path.write_bytes(data)
    return ReceivedFile(path, len(data))


def _upload(uow, kit, camera_id, tmp_path, **overrides):
    args = dict(camera_id=camera_id, device_camera_id=camera_id,
                recorded_at=uow.clock.now() - timedelta(hours=1), received=_file(tmp_path),
                claimed_sha256=None)
    args.update(overrides)
    device = args.pop("device_camera_id")
    return library.upload_clip(uow, kit, device, UploadClip(**args))


def test_upload_stores_encrypted_objects_and_a_wrapped_key(uow, kit, camera, tmp_path) -> None:
    owner, camera_id = camera
    result = _upload(uow, kit, camera_id, tmp_path)
    assert result.created
    with uow:
        clip = uow.clips.get(result.clip_id)
    assert clip.owner_id == owner.id
    assert clip.expires_at == clip.recorded_at + timedelta(days=7)
    assert b"not really" not in clip.wrapped_key  # the key is wrapped, not the footage
    assert set(kit.store.objects) == {clip.object_key, clip.poster_key}
    uploaded = uow.audit[-1]
    assert uploaded.kind == "clip.uploaded"
    sha256 = hashlib.sha256(b"not really a video").hexdigest()
    assert clip.sha256 == sha256 and sha256 not in str(uploaded)
    data_key = kit.vault.open(clip.wrapped_key, context=f"clip:{clip.id}".encode())
    assert uploaded.sha256_commitment == library.audit_commitment(data_key, sha256)


def test_the_same_bytes_get_unrelated_commitments_on_two_cameras(uow, kit, camera,
                                                                  tmp_path) -> None:
    owner, first_camera = camera
    second_camera = cameras.register_camera(
        uow, owner, RegisterCamera("Side", HOME, retention_days=7))
    for camera_id in (first_camera, second_camera):
        _upload(uow, kit, camera_id, tmp_path)
    commitments = {event.sha256_commitment for event in uow.audit
                   if event.kind == "clip.uploaded"}
    assert len(commitments) == 2  # each under its own clip's data key


def test_the_same_file_twice_is_one_clip(uow, kit, camera, tmp_path) -> None:
    _, camera_id = camera
    first = _upload(uow, kit, camera_id, tmp_path)
    again = _upload(uow, kit, camera_id, tmp_path)
    assert (again.clip_id, again.created) == (first.clip_id, False)
    assert len(kit.store.objects) == 2
    assert kit.store.staged == []  # the retry's sealed copy was discarded, not published


def test_a_retry_touches_no_storage_so_an_outage_there_cannot_fail_it(
        uow, kit, camera, tmp_path) -> None:
    """A retry is settled before anything of its own is published: it deletes nothing,
    so a storage hiccup on delete cannot turn the right answer into an error."""
    _, camera_id = camera
    first = _upload(uow, kit, camera_id, tmp_path)
    kit.store.fail_deletes = 2
    again = _upload(uow, kit, camera_id, tmp_path)
    assert (again.clip_id, again.created) == (first.clip_id, False)
    assert kit.store.fail_deletes == 2


@pytest.mark.parametrize("problem", ["sha", "future", "too_old", "other_camera", "rejected"])
def test_a_refused_upload_leaves_nothing(uow, kit, camera, tmp_path, problem) -> None:
    _, camera_id = camera
    now = uow.clock.now()
    overrides = {
        "sha": {"claimed_sha256": "0" * 64},
        "future": {"recorded_at": now + timedelta(hours=1)},
        "too_old": {"recorded_at": now - timedelta(days=8)},
        "other_camera": {"device_camera_id": uuid4()},
        "rejected": {},
    }[problem]
    if problem == "rejected":
        kit.video.probe = lambda path: (_ for _ in ()).throw(  # type: ignore[method-assign]
            VideoRejected("not_a_video", "this file is not a video"))
    with pytest.raises((ValidationFailed, NotFound)):
        _upload(uow, kit, camera_id, tmp_path, **overrides)
    assert kit.store.objects == {}
    assert kit.store.staged == []
    assert uow.tables["clips"] == {}


@pytest.mark.parametrize("failing", [".video", ".poster"])
def test_a_failed_publish_leaves_nothing(uow, kit, camera, tmp_path, failing) -> None:
    """The video is published first, then the poster: when either fails, what was
    published is deleted, what was not is discarded, and no row is written."""
    _, camera_id = camera
    deleted = []
    delete = kit.store.delete
    kit.store.delete = lambda key: (deleted.append((key[-6:], kit.store.exists(key))),
                                    delete(key))
    kit.store.fail_publishes = {failing}
    with pytest.raises(OSError, match="while publishing"):
        _upload(uow, kit, camera_id, tmp_path)
    assert kit.store.objects == {} and kit.store.staged == []
    assert uow.tables["clips"] == {}
    video_published = failing == ".poster"
    assert (".video", video_published) in deleted


def test_a_failed_commit_removes_the_stored_objects(uow, kit, camera, tmp_path) -> None:
    _, camera_id = camera
    original = uow._commit

    def explode() -> None:
        if any(type(e).__name__ == "Clip" for e in uow.pending()):
            raise OSError("database went away")
        original()

    uow._commit = explode
    with pytest.raises(OSError):
        _upload(uow, kit, camera_id, tmp_path)
    assert kit.store.objects == {}
    assert kit.store.staged == []


def test_only_the_owner_opens_a_clip_and_refusals_are_audited(uow, kit, camera, tmp_path) -> None:
    owner, camera_id = camera
    clip_id = _upload(uow, kit, camera_id, tmp_path).clip_id
    opened = library.open_for_owner(uow, kit, owner, clip_id, record_view=True)
    assert b"".join(kit.store.read(opened.clip.object_key, opened.data_key, 0, 3)) == b"not"
    assert uow.audit[-1].kind == "clip.viewed"
    other_id = accounts.register_resident(uow, RegisterResident("b@example.org", "B"))
    with uow:
        other = uow.accounts.get(other_id)
    with pytest.raises(NotFound):
        library.open_for_owner(uow, kit, other, clip_id, record_view=True)
    denied = uow.audit[-1]
    assert (denied.kind, denied.actor_id, denied.reason) == ("clip.access_denied", other_id,
                                                            "not_owner")


def test_retention_purges_exactly_the_expired_clips(uow, kit, camera, tmp_path, clock) -> None:
    _, camera_id = camera
    now = clock.now()
    old = _upload(uow, kit, camera_id, tmp_path, recorded_at=now - timedelta(days=6, hours=23),
                  received=_file(tmp_path, b"old")).clip_id
    new = _upload(uow, kit, camera_id, tmp_path, recorded_at=now - timedelta(days=1),
                  received=_file(tmp_path, b"new")).clip_id
    clock.advance(timedelta(hours=2))
    assert retention.purge_expired(uow, kit.store) == (1, 1)
    with uow:
        purged, kept = uow.clips.get(old), uow.clips.get(new)
    assert purged.wrapped_key is None and purged.deleted_at == clock.now()
    assert not kit.store.exists(purged.object_key) and kit.store.exists(kept.object_key)
    assert kept.is_readable
    kinds = [e.kind for e in uow.audit]
    assert kinds[-2:] == ["clip.key_shredded", "clip.purged"]
    assert retention.purge_expired(uow, kit.store) == (0, 0)  # idempotent


def test_a_storage_outage_mid_purge_still_leaves_the_clip_unreadable(
    uow, kit, camera, tmp_path, clock
) -> None:
    _, camera_id = camera
    clip_id = _upload(uow, kit, camera_id, tmp_path).clip_id
    clock.advance(timedelta(days=8))
    kit.store.fail_deletes = 1
    with pytest.raises(OSError):
        retention.purge_expired(uow, kit.store)
    with uow:
        clip = uow.clips.get(clip_id)
    assert clip.wrapped_key is None and clip.deleted_at is None  # shredded, not yet marked
    assert retention.purge_expired(uow, kit.store) == (1, 1)
    assert kit.store.objects == {}


def test_shortening_retention_moves_existing_clips_expiry(uow, kit, camera, tmp_path) -> None:
    owner, camera_id = camera
    clip_id = _upload(uow, kit, camera_id, tmp_path).clip_id
    cameras.set_camera_retention(uow, owner, SetCameraRetention(camera_id, 30))
    with uow:
        clip = uow.clips.get(clip_id)
    assert clip.expires_at == clip.recorded_at + timedelta(days=30)


def test_orphan_sweep_spares_recent_uploads(uow, kit, tmp_path, clock) -> None:
    now = clock.now()
    old = f"clips/c/{(now - timedelta(hours=2)).strftime('%Y%m%dT%H%M%S')}-x.video"
    fresh = f"clips/c/{(now - timedelta(minutes=5)).strftime('%Y%m%dT%H%M%S')}-y.video"
    for key in (old, fresh, "clips/c/unparseable.video"):
        kit.store.objects[key] = (b"k", b"data")
    assert retention.sweep_orphans(uow, kit.store, now) == 1
    assert set(kit.store.objects) == {fresh, "clips/c/unparseable.video"}
