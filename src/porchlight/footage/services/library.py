"""Clips: upload, the owner's library and playback, and deletion that really deletes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID, uuid4

from porchlight.footage.domain.clips import (
    Clip,
    ClipAccessDenied,
    ClipUploaded,
    ClipViewed,
    check_recorded_at,
    clip_expiry,
)
from porchlight.footage.services.commands import UploadClip
from porchlight.footage.services.retention import KEY_TIME_FORMAT, Shred, shred_clip
from porchlight.kernel.domain.errors import Conflict, NotFound, ValidationFailed
from porchlight.kernel.domain.policies import Actor, actor_id, require_resident
from porchlight.kernel.services.ports import (
    Examined,
    FootageStore,
    KeyVault,
    StagedFootage,
    UnitOfWork,
    VideoInfo,
    VideoTools,
)

DATA_KEY_BYTES = 32
AUDIT_COMMITMENT_LABEL = b"porchlight clip.uploaded commitment v1"


@dataclass(frozen=True)
class Footage:
    """What the clip use cases need besides the unit of work."""

    store: FootageStore
    video: VideoTools
    vault: KeyVault
    max_upload_bytes: int


@dataclass(frozen=True)
class UploadResult:
    clip_id: UUID
    created: bool


@dataclass(frozen=True)
class OpenClip:
    """A clip its owner may play: metadata plus the unwrapped data key, for this request only."""

    clip: Clip
    data_key: bytes

    @property
    def media_type(self) -> str:
        return "video/webm" if self.clip.container == "matroska" else "video/mp4"


def audit_commitment(data_key: bytes, sha256: str) -> str:
    """HMAC-SHA256 of a clip's SHA-256 (hex) under a key derived from its data key: what
    the public log records instead of the SHA-256 itself (see ``ClipUploaded``)."""
    key = hmac.new(data_key, AUDIT_COMMITMENT_LABEL, hashlib.sha256).digest()
    return hmac.new(key, sha256.encode("ascii"), hashlib.sha256).hexdigest()


def _key_context(clip_id: UUID) -> bytes:
    return f"clip:{clip_id}".encode()


def clip_data_key(kit: Footage, clip: Clip) -> bytes:
    """A readable clip's data key, unwrapped (for a job that derives a copy of it)."""
    return kit.vault.open(clip.wrapped_key, context=_key_context(clip.id))


def decrypt_to(store: FootageStore, key: str, data_key: bytes, size: int,
               target: Path) -> None:
    """Write a stored object's plaintext to ``target`` (a file in a private temp folder)."""
    with target.open("wb") as handle:
        for block in store.read(key, data_key, 0, size):
            handle.write(block)


def object_keys(camera_id: UUID, clip_id: UUID, received_at: datetime) -> tuple[str, str]:
    """Object names carry the upload time, so an orphan sweep can spare uploads in flight."""
    stem = f"clips/{camera_id}/{received_at.strftime(KEY_TIME_FORMAT)}-{clip_id}"
    return f"{stem}.video", f"{stem}.poster"


def upload_clip(
    uow: UnitOfWork, kit: Footage, device_camera_id: UUID, cmd: UploadClip
) -> UploadResult:
    """Check, hash, probe, encrypt, then publish and commit; a failure leaves nothing behind.

    The video is probed (and its poster frame decoded) in a child process while the
    footage is hashed and encrypted into staging here, one read of the file doing both,
    so the work spreads over both cores. Only when every byte is sealed, the hash matches
    the one the device claimed, the camera has no clip with these bytes yet (else this is
    a retry after a lost answer, the existing clip is the answer and the staging is
    discarded) and the probe has passed are the objects published, and then the row
    committed.
    """
    camera_id, recorded_at = cmd.camera_id, cmd.recorded_at
    _check_device(uow, camera_id, device_camera_id)
    with uow.reading():
        camera = uow.cameras.get(camera_id)
        if camera is None:
            raise NotFound("no such camera")
        check_recorded_at(camera, recorded_at, uow.clock.now())
    # Leaving the pool waits for the probe even when the answer is settled without it (a
    # wrong SHA-256, a retry): a probe child left behind would run on for up to the video
    # timeout, with its address space, outside any limit on concurrent uploads.
    with ThreadPoolExecutor(max_workers=1) as pool:
        examined = pool.submit(kit.video.examine, cmd.received.path)
        return _store_and_commit(uow, kit, camera_id, recorded_at, cmd.received.path, examined,
                                 cmd.claimed_sha256)


def _check_device(uow: UnitOfWork, camera_id: UUID, device_camera_id: UUID) -> None:
    if camera_id == device_camera_id:
        return
    with uow:
        uow.record(ClipAccessDenied(clip_id=None, reason="device_token_for_other_camera"))
        uow.commit()
    raise NotFound("no such camera")


def _store_and_commit(
    uow: UnitOfWork, kit: Footage, camera_id: UUID, recorded_at: datetime, path: Path,
    examined: Future[Examined], claimed_sha256: str | None,
) -> UploadResult:
    clip_id, received_at = uuid4(), uow.clock.now()
    keys = object_keys(camera_id, clip_id, received_at)
    data_key = secrets.token_bytes(DATA_KEY_BYTES)
    with kit.store.seal(keys[0], path, data_key) as video:  # unpublished: discarded on exit
        existing = _settled_before_publishing(uow, camera_id, video, claimed_sha256)
        if existing is not None:
            return UploadResult(existing, created=False)  # a retry: nothing of ours stored
        result = examined.result()  # the probe's refusal, if any, is raised here
        with _seal_poster(kit, keys[1], path, result.poster, data_key) as poster:
            _publish(kit, video, poster)
    try:
        _commit_clip(uow, kit, clip_id, camera_id, recorded_at, received_at, video,
                     result.info, keys, data_key)
    except Conflict:
        # The same bytes, uploaded at the same moment, won the race to the unique index:
        # their clip is the answer, and ours are removed.
        _delete(kit, keys)
        with uow.reading():
            winner = uow.clips.find_by_sha256(camera_id, video.sha256)
        if winner is None:
            raise
        return UploadResult(winner.id, created=False)
    except BaseException:
        _delete(kit, keys)
        raise
    return UploadResult(clip_id, created=True)


def _settled_before_publishing(
    uow: UnitOfWork, camera_id: UUID, video: StagedFootage, claimed_sha256: str | None,
) -> UUID | None:
    """Every byte is sealed, nothing published: refuse a wrong SHA-256, or answer a retry
    with the camera's clip that has these bytes already."""
    if claimed_sha256 is not None and claimed_sha256.lower() != video.sha256:
        raise ValidationFailed("the file's SHA-256 does not match the one sent with it")
    with uow.reading():
        existing = uow.clips.find_by_sha256(camera_id, video.sha256)
    return existing.id if existing is not None else None


def _seal_poster(kit: Footage, key: str, upload: Path, poster: bytes,
                 data_key: bytes) -> StagedFootage:
    poster_file = upload.with_suffix(".poster")
    try:
        poster_file.write_bytes(poster)
        return kit.store.seal(key, poster_file, data_key)
    finally:
        poster_file.unlink(missing_ok=True)


def _publish(kit: Footage, *staged: StagedFootage) -> None:
    """Publish each; if one fails, remove those already published (a crash here leaves
    orphans, which retention removes once they are an hour old)."""
    try:
        for one in staged:
            one.publish()
    except BaseException:
        _delete(kit, [one.key for one in staged])
        raise


def _delete(kit: Footage, keys: Sequence[str]) -> None:
    for key in keys:
        kit.store.delete(key)


def _commit_clip(
    uow: UnitOfWork, kit: Footage, clip_id: UUID, camera_id: UUID, recorded_at: datetime,
    received_at: datetime, stored: StagedFootage, info: VideoInfo, keys: tuple[str, str],
    data_key: bytes,
) -> None:
    with uow:
        camera = uow.cameras.get(camera_id)
        if camera is None:
            raise NotFound("no such camera")
        clip = Clip(
            id=clip_id, camera_id=camera_id, owner_id=camera.owner_id, recorded_at=recorded_at,
            received_at=received_at, expires_at=clip_expiry(camera, recorded_at),
            sha256=stored.sha256, size_bytes=stored.size, container=info.container,
            video_codec=info.video_codec, audio_codec=info.audio_codec, width=info.width,
            height=info.height, frame_rate=info.frame_rate,
            duration_seconds=info.duration_seconds, rotation=info.rotation,
            object_key=keys[0], poster_key=keys[1],
            wrapped_key=kit.vault.seal(data_key, context=_key_context(clip_id)),
        )
        clip.record(ClipUploaded(
            actor_id=None, clip_id=clip_id, camera_id=camera_id,
            sha256_commitment=audit_commitment(data_key, stored.sha256),
            size_bytes=stored.size, owner_id=camera.owner_id))
        uow.clips.add(clip)
        uow.commit()


def my_clips(uow: UnitOfWork, actor: Actor) -> list[Clip]:
    with uow.reading():
        owner = require_resident(actor)
        return list(uow.clips.list_for_owner(owner.id))


def open_for_owner(
    uow: UnitOfWork, kit: Footage, actor: Actor, clip_id: UUID, *, record_view: bool
) -> OpenClip:
    """The owner's own clip, readable; anyone else is refused, and the refusal is audited.
    Read without the write lock (posters and every later range request of a playback
    come here); a write transaction opens only to audit a refusal or a view, and a view
    is checked, opened and audited in that one transaction."""
    if record_view:
        with uow:
            clip = uow.clips.get(clip_id)
            refusal = _refusal(clip, actor)
            if refusal is None:
                data_key = kit.vault.open(clip.wrapped_key, context=_key_context(clip.id))
                clip.record(ClipViewed(actor_id=actor_id(actor), clip_id=clip.id))
            else:
                uow.record(_denied(actor, clip, refusal))
            uow.commit()
    else:
        with uow.reading():
            clip = uow.clips.get(clip_id)
            refusal = _refusal(clip, actor)
        if refusal is None:
            data_key = kit.vault.open(clip.wrapped_key, context=_key_context(clip.id))
        else:
            with uow:
                uow.record(_denied(actor, clip, refusal))
                uow.commit()
    if refusal is not None:
        raise NotFound("no such clip")
    return OpenClip(clip=clip, data_key=data_key)


def _denied(actor: Actor, clip: Clip | None, refusal: str) -> ClipAccessDenied:
    return ClipAccessDenied(actor_id=actor_id(actor), clip_id=clip.id if clip else None,
                            reason=refusal)


def _refusal(clip: Clip | None, actor: Actor) -> str | None:
    if clip is None:
        return "no_such_clip"
    if clip.owner_id != actor_id(actor):
        return "not_owner"
    if not clip.is_readable:
        return "purged"
    return None


def delete_my_clip(uow: UnitOfWork, kit: Footage, actor: Actor, clip_id: UUID) -> None:
    """The owner deletes a clip: its key is shredded now (unreadable from this commit on)
    and a job deletes its bytes, as retention does. Refused while a copy the owner agreed
    to share is still being made from it: the copy would silently be lost."""
    open_for_owner(uow, kit, actor, clip_id, record_view=False)
    done = shred_clip(uow, clip_id, reason="owner_deleted", actor=actor_id(actor))
    if done is Shred.COPY_PENDING:
        raise Conflict("A copy of this clip you agreed to share is still being made. "
                       "Try again in a minute, once it is done.", code="clip.copy_pending")
