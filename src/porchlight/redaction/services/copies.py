"""Redacted copies: the owner asks for one, a job makes it, the owner previews and approves.

Making a copy is a job (``redaction.make``): decrypt the clip into a private temp folder,
run the engine, seal the output under a fresh data key and publish it, then record it.
It is idempotent: a copy that is no longer queued is left alone, and a run killed half-way
leaves at most a published object no row names, which the orphan sweep removes.
A copy is shredded with its clip (footage.services.retention.shred_clip), and the
owner may discard one.
"""

from __future__ import annotations

import base64
import json
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from porchlight.footage.domain.clips import Clip
from porchlight.footage.services.library import Footage, clip_data_key, decrypt_to
from porchlight.footage.services.retention import KEY_TIME_FORMAT
from porchlight.kernel.domain.errors import Conflict, NotFound
from porchlight.kernel.domain.policies import Actor, actor_id, require_resident
from porchlight.kernel.services.ports import KeyVault, UnitOfWork
from porchlight.redaction.domain.copies import (
    LOW_CONFIDENCE_SHOWN,
    MAX_OPEN_PER_CLIP,
    TRACKS_SHOWN,
    CopyStatus,
    RedactedCopy,
)
from porchlight.redaction.domain.options import (
    LowConfidence,
    RedactionOptions,
    RedactionReport,
)
from porchlight.redaction.services.ports import RedactionFailed, Redactor

PREFIX = "redactions/"


@dataclass(frozen=True)
class RedactionKit:
    footage: Footage
    redactor: Callable[[], Redactor]  # built on first use: loading the model takes a moment
    workdir: Path


@dataclass(frozen=True)
class OpenCopy:
    copy: RedactedCopy
    data_key: bytes
    media_type: str = "video/mp4"


def copy_key_context(copy_id: UUID) -> bytes:
    return f"redaction:{copy_id}".encode()


def _frames_context(copy_id: UUID) -> bytes:
    return f"redaction-frames:{copy_id}".encode()


def _owned_clip(uow: UnitOfWork, actor: Actor, clip_id: UUID) -> Clip:
    owner = require_resident(actor)
    clip = uow.clips.get(clip_id)
    if clip is None or clip.owner_id != owner.id or not clip.is_readable:
        raise NotFound("no such clip")
    return clip


def _owned_copy(uow: UnitOfWork, actor: Actor, copy_id: UUID) -> RedactedCopy:
    owner = require_resident(actor)
    copy = uow.redactions.get(copy_id)
    if copy is None or copy.owner_id != owner.id:
        raise NotFound("no such copy")
    return copy


def request_copy(uow: UnitOfWork, actor: Actor, clip_id: UUID,
                 options: RedactionOptions) -> UUID:
    """Ask for a redacted copy of the owner's clip; the ``redaction.make`` job makes it."""
    with uow:
        clip = _owned_clip(uow, actor, clip_id)
        uow.lock(clip)  # two requests at once count each other: the cap holds
        if not clip.is_readable:  # shredded while we waited for the lock
            raise NotFound("no such clip")
        waiting = [c for c in uow.redactions.for_clip(clip.id)
                   if c.state is CopyStatus.QUEUED]
        if len(waiting) >= MAX_OPEN_PER_CLIP:
            raise Conflict(f"{len(waiting)} copies of this clip are already being made; "
                           "wait for one to finish", code="redaction.busy")
        copy = RedactedCopy.request(
            id=uuid4(), clip_id=clip.id, owner_id=clip.owner_id, parent_sha256=clip.sha256,
            options=options, now=uow.clock.now(), expires_at=clip.expires_at,
            clip_duration=clip.duration_seconds, frame=(clip.width, clip.height))
        uow.redactions.add(copy)
        uow.commit()
        return copy.id


def request_copy_for_owner(uow: UnitOfWork, clip_id: UUID, options: RedactionOptions) -> UUID:
    """An operator's ``porchlight redact CLIP_ID``: a copy for the clip's owner to preview
    and approve (it goes nowhere without them); the event names no actor."""
    with uow:
        clip = uow.clips.get(clip_id)
        if clip is None or not clip.is_readable:
            raise NotFound("no such clip")
        copy = RedactedCopy.request(
            id=uuid4(), clip_id=clip.id, owner_id=clip.owner_id, parent_sha256=clip.sha256,
            options=options, now=uow.clock.now(), expires_at=clip.expires_at,
            clip_duration=clip.duration_seconds, frame=(clip.width, clip.height),
            by_owner=False)
        uow.redactions.add(copy)
        uow.commit()
        return copy.id


def copies_of(uow: UnitOfWork, actor: Actor, clip_id: UUID) -> tuple[Clip, list[RedactedCopy]]:
    with uow.reading():
        clip = _owned_clip(uow, actor, clip_id)
        return clip, list(uow.redactions.for_clip(clip.id))


def get_copy(uow: UnitOfWork, actor: Actor, copy_id: UUID) -> tuple[RedactedCopy, Clip]:
    with uow.reading():
        copy = _owned_copy(uow, actor, copy_id)
        return copy, uow.clips.get(copy.clip_id)


def approved_copies(uow: UnitOfWork, actor: Actor,
                    clip_ids: list[UUID]) -> dict[UUID, list[RedactedCopy]]:
    """The owner's approved, readable copies of these clips, newest first, by clip."""
    owner = require_resident(actor)
    with uow.reading():
        found: dict[UUID, list[RedactedCopy]] = {}
        for copy in uow.redactions.for_clips(clip_ids):
            if copy.owner_id == owner.id and copy.state is CopyStatus.APPROVED:
                found.setdefault(copy.clip_id, []).append(copy)
        return found


def approve(uow: UnitOfWork, actor: Actor, copy_id: UUID) -> None:
    with uow:
        copy = _owned_copy(uow, actor, copy_id)
        uow.lock(copy)
        copy.approve(now=uow.clock.now(), by=actor_id(actor))
        uow.commit()


def discard(uow: UnitOfWork, actor: Actor, copy_id: UUID) -> None:
    """The owner deletes a copy: its key now, its bytes in a job. Copies already shared
    are unaffected: the agency holds its own copy."""
    with uow:
        copy = _owned_copy(uow, actor, copy_id)
        uow.lock(copy)
        copy.shred(now=uow.clock.now(), reason="owner_deleted", actor_id=actor_id(actor))
        uow.commit()


def open_copy(uow: UnitOfWork, vault: KeyVault, actor: Actor, copy_id: UUID) -> OpenCopy:
    """The owner's preview of a finished copy."""
    with uow.reading():
        copy = _owned_copy(uow, actor, copy_id)
        if not copy.is_readable:
            raise NotFound("this copy is not ready, or was deleted")
    return OpenCopy(copy, vault.open(copy.wrapped_key, context=copy_key_context(copy.id)))


@dataclass(frozen=True)
class Face:
    track: int
    time: float
    box: tuple[float, float, float, float]  # x, y, w, h as fractions of the frame
    image: bytes  # the original frame, JPEG


@dataclass(frozen=True)
class Snapshots:
    check: list[bytes]  # redacted frames the detector was least sure of
    faces: list[Face]  # each face found, in the original frame where it was surest


def snapshots(uow: UnitOfWork, vault: KeyVault, actor: Actor, copy_id: UUID) -> Snapshots:
    """The images the owner checks a copy with (owner only; gone with the copy)."""
    with uow.reading():
        copy = _owned_copy(uow, actor, copy_id)
        sealed = copy.snapshots if copy.is_readable else None
    if sealed is None:
        return Snapshots([], [])
    data = json.loads(vault.open(sealed, context=_frames_context(copy.id)))
    return Snapshots(
        check=[base64.b64decode(image) for image in data["check"]],
        faces=[Face(f["track"], f["time"], tuple(f["box"]), base64.b64decode(f["image"]))
               for f in data["faces"]])


def delete_bytes(uow: UnitOfWork, kit: Footage, copy_id: UUID) -> None:
    """The ``redaction.delete`` job: a shredded copy's bytes. Idempotent."""
    with uow.reading():
        copy = uow.redactions.get(copy_id)
        if copy is None or copy.state is not CopyStatus.PURGED or copy.object_key is None:
            return
        key = copy.object_key
    kit.store.delete(key)


def make(uow: UnitOfWork, kit: RedactionKit, copy_id: UUID,
         progress: Callable[[int, int], None] | None = None) -> None:
    """The ``redaction.make`` job. Nothing to do once the copy is no longer queued."""
    with uow.reading():
        copy = uow.redactions.get(copy_id)
        if copy is None or copy.state is not CopyStatus.QUEUED:
            return
        clip = uow.clips.get(copy.clip_id)
        if clip is None or not clip.is_readable:
            return  # the clip was deleted: shredding it shredded this copy too
        data_key = clip_data_key(kit.footage, clip)
        options = copy.redaction_options
    kit.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=kit.workdir) as folder:
        plain, output = Path(folder) / "source", Path(folder) / "redacted.mp4"
        decrypt_to(kit.footage.store, clip.object_key, data_key, clip.size_bytes, plain)
        redactor = kit.redactor()
        try:
            report = redactor.redact(plain, output, options, progress)
            weakest = sorted(report.low_confidence, key=lambda f: f.score)[
                :LOW_CONFIDENCE_SHOWN]
            shots = _snapshots(redactor, plain, output, options, report, weakest)
        except RedactionFailed as failure:
            with uow:
                copy = uow.redactions.get(copy_id)
                uow.lock(copy)
                copy.fail(now=uow.clock.now(), reason=str(failure) or "redaction failed")
                uow.commit()
            return
        _store(uow, kit, copy, output, report, weakest, shots)


def _snapshots(redactor: Redactor, source: Path, output: Path, options: RedactionOptions,
               report: RedactionReport, weakest: list[LowConfidence]) -> dict[str, Any]:
    """What the owner looks at: the redacted frames the detector was least sure of (did a
    face slip through?), and each face it found, in the original frame where it was most
    sure (which one is the person at the door, to keep visible?)."""
    faces = sorted(report.tracks, key=lambda t: len(t.boxes), reverse=True)[:TRACKS_SHOWN]
    best = [max(t.boxes, key=lambda b: b.score) for t in faces]
    first = round((options.start or 0.0) * report.fps)  # the copy's frame 0 in the clip
    check = redactor.snapshots(output, [f.frame for f in weakest]) if weakest else []
    found = redactor.snapshots(source, [first + b.frame for b in best]) if best else []
    return {
        "check": [_b64(image) for image in check],
        "faces": [{"track": t.id, "time": round(b.frame / report.fps, 2),
                   "box": [b.rect.x / report.width, b.rect.y / report.height,
                           b.rect.w / report.width, b.rect.h / report.height],
                   "image": _b64(image)}
                  for t, b, image in zip(faces, best, found, strict=False)],
    }


def _b64(image: bytes) -> str:
    return base64.b64encode(image).decode()


def _store(uow: UnitOfWork, kit: RedactionKit, copy: RedactedCopy, output: Path,
           report: RedactionReport, weakest: list[LowConfidence], shots: dict[str, Any]
           ) -> None:
    vault, store = kit.footage.vault, kit.footage.store
    data_key = secrets.token_bytes(32)
    stamp = uow.clock.now().strftime(KEY_TIME_FORMAT)  # the orphan sweep reads it
    key = f"{PREFIX}{copy.owner_id}/{stamp}-{copy.id}.mp4"
    sealed_shots = vault.seal(json.dumps(shots).encode(), context=_frames_context(copy.id))
    with store.seal(key, output, data_key) as staged:
        staged.publish()
    try:
        with uow:
            copy = uow.redactions.get(copy.id)
            uow.lock(copy)
            if copy.state is not CopyStatus.QUEUED:  # made by another run, or shredded
                store.delete(key)
                return
            copy.finish(
                now=uow.clock.now(), sha256=staged.sha256, size_bytes=staged.size,
                object_key=key, wrapped_key=vault.seal(data_key,
                                                       context=copy_key_context(copy.id)),
                detector=report.detector, detector_version=report.detector_version,
                provenance=provenance(report), low_confidence=[
                    {"frame": f.frame, "time": round(f.time, 3), "score": round(f.score, 3)}
                    for f in weakest],
                snapshots=sealed_shots, faces=len(report.tracks))
            uow.commit()
    except BaseException:
        store.delete(key)
        raise


def provenance(report: RedactionReport) -> dict:
    """What regenerates and checks the copy: the engine's parameters and every box."""
    return {
        "frames": report.frames, "fps": report.fps, "width": report.width,
        "height": report.height, "engine": report.engine_params,
        "tracks": [{"id": t.id, "boxes": [[b.frame, b.rect.x, b.rect.y, b.rect.w, b.rect.h,
                                            round(b.score, 3), int(b.detected)]
                                           for b in t.boxes]}
                   for t in report.tracks],
    }
