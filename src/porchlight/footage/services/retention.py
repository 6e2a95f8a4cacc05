"""Retention that really deletes: shred the key, delete the bytes, mark the row, audit each.

The first step is quick and happens at once, in the owner's request or the retention
sweep; its event calls for a ``clip.purge`` job (kernel.services.messagebus) that does
the other two after the commit.

Each clip is purged in three steps, each safe to repeat: (1) the wrapped data key is
destroyed and that is committed with its audit event, so the clip is unreadable from that
moment; (2) the encrypted objects are deleted; (3) the row is marked purged, with its
audit event. A run killed anywhere leaves a clip that the next run, which selects every
expired clip not yet marked purged, takes through the remaining steps.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

from porchlight.footage.domain.clips import Clip
from porchlight.footage.services import temp_uploads
from porchlight.jobs.domain.jobs import JobState
from porchlight.kernel.services.messagebus import evidence_job_key
from porchlight.kernel.services.ports import FootageStore, UnitOfWork

BATCH = 100
KEY_TIME_FORMAT = "%Y%m%dT%H%M%S"
ORPHAN_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class RetentionReport:
    expired: int
    purged: int
    orphans_removed: int
    temp_files_removed: int


class Shred(enum.Enum):
    """What ``shred_clip`` did."""

    SHREDDED = "shredded"  # the key is gone from this commit on
    NOTHING_TO_DO = "nothing_to_do"  # no such clip, already purged or already shredded
    COPY_PENDING = "copy_pending"  # an evidence copy is still being made from it: kept


def copy_pending(uow: UnitOfWork, clip: Clip) -> bool:
    """Whether a consent's evidence copy of this clip is still to be made (its
    ``evidence.derive`` job waiting or running): the key must outlive it, or the agency
    silently gets nothing. A dead job does not hold the clip."""
    for delivery in uow.deliveries.for_resident(clip.owner_id):
        consent = uow.consents.for_delivery(delivery.id)
        if consent is None or consent.revoked_at is not None:
            continue
        if str(clip.id) not in {str(c) for c in consent.clip_ids}:
            continue
        job = uow.jobs.by_key(evidence_job_key(consent.id))
        if job is not None and job.state in (JobState.PENDING, JobState.RUNNING):
            return True
    return False


def shred_clip(uow: UnitOfWork, clip_id: UUID, *, reason: str, actor: UUID | None,
               wait_for_copies: bool = True) -> Shred:
    """Step 1: destroy the clip's key, so it is unreadable from this commit on; the event
    asks for the ``clip.purge`` job that deletes its bytes.

    With ``wait_for_copies`` a clip an evidence copy is still being made from is left
    alone (``COPY_PENDING``): the retention sweep takes it on a later pass."""
    with uow:
        clip = uow.clips.get(clip_id)
        if clip is None:
            return Shred.NOTHING_TO_DO
        uow.lock(clip)  # a redacted copy asked for meanwhile is either listed below or refused
        if clip.deleted_at is not None or clip.wrapped_key is None:
            return Shred.NOTHING_TO_DO
        if wait_for_copies and copy_pending(uow, clip):
            return Shred.COPY_PENDING
        clip.shred(reason=reason, actor_id=actor)
        # its redacted copies go with it (their bytes in their own jobs)
        redacted = uow.redactions.unpurged_for_clip(clip.id)
        for copy in redacted:
            copy.shred(now=uow.clock.now(), reason=reason, actor_id=actor)
        uow.commit()
        return Shred.SHREDDED


def finish_purge(
    uow: UnitOfWork, store: FootageStore, clip_id: UUID, *, reason: str, actor: UUID | None
) -> None:
    """Steps 2 and 3, the ``clip.purge`` job: delete the objects, then mark the row. Safe
    to run again from any point; a clip not yet shredded is shredded first."""
    with uow.reading():
        clip = uow.clips.get(clip_id)
        if clip is None or clip.deleted_at is not None:
            return
        shredded, keys = clip.wrapped_key is None, [clip.object_key, clip.poster_key]
    if not shredded:
        shred_clip(uow, clip_id, reason=reason, actor=actor, wait_for_copies=False)
    for key in keys:
        if key:
            store.delete(key)
    with uow:
        clip = uow.clips.get(clip_id)
        uow.lock(clip)  # a job and `retention run` at once: one marks it, one audit event
        clip.mark_purged(now=uow.clock.now(), reason=reason, actor_id=actor)
        uow.commit()


def purge_clip(
    uow: UnitOfWork, store: FootageStore, clip_id: UUID, *, reason: str, actor: UUID | None
) -> bool:
    """All three steps now (``porchlight retention run``); the job the shred asked for
    then finds nothing left to do. A clip with an evidence copy still to be made waits
    for a later run. Whether this call left the clip purged."""
    if shred_clip(uow, clip_id, reason=reason, actor=actor) is Shred.COPY_PENDING:
        return False
    finish_purge(uow, store, clip_id, reason=reason, actor=actor)
    return True


def shred_expired(uow: UnitOfWork) -> int:
    """The sweep's share: shred every clip past its retention, a short transaction each;
    their purge jobs delete the bytes. Returns how many were shredded."""
    with uow.reading():
        now = uow.clock.now()
    shredded, seen = 0, set()
    while True:
        with uow.reading():
            batch = [clip.id for clip in uow.clips.expired(now, limit=BATCH, readable=True)
                     if clip.id not in seen]  # a clip it cannot shred is not tried twice
        if not batch:
            return shredded
        for clip_id in batch:
            seen.add(clip_id)
            done = shred_clip(uow, clip_id, reason="retention", actor=None)
            shredded += done is Shred.SHREDDED


def purge_expired(
    uow: UnitOfWork, store: FootageStore, progress: Callable[[int, int], None] | None = None
) -> tuple[int, int]:
    """Purge every clip past its retention; returns (expired at the start, purged)."""
    with uow.reading():
        now = uow.clock.now()
        total = uow.clips.count_expired(now)
    purged, seen = 0, set()
    while True:
        with uow.reading():
            batch = [clip.id for clip in uow.clips.expired(now, limit=BATCH)
                     if clip.id not in seen]  # one a copy holds back is not tried again
        if not batch:
            return total, purged
        for clip_id in batch:
            seen.add(clip_id)
            purged += purge_clip(uow, store, clip_id, reason="retention", actor=None)
            if progress:
                progress(len(seen), max(total, len(seen)))


def sweep_orphans(uow: UnitOfWork, store: FootageStore, now: datetime) -> int:
    """Delete stored objects no clip, evidence or redacted-copy row names: what an upload
    or a derivation killed between publishing and committing left.

    Object names carry their upload time; anything younger than an hour is spared, since
    its upload may still be on its way to the database.
    """
    removed = 0
    for prefix, repository in (("clips/", "clips"), ("evidence/", "evidence"),
                               ("redactions/", "redactions"), ("posts/", "posts")):
        # evidence too: a copy published by a derivation killed before its commit
        for chunk in _chunks(store.keys(prefix), 200):
            with uow.reading():
                known = getattr(uow, repository).known_object_keys(chunk)
            for key in chunk:
                if key not in known and _uploaded_before(key, now - ORPHAN_GRACE):
                    store.delete(key)
                    removed += 1
    return removed


def _uploaded_before(key: str, cutoff: datetime) -> bool:
    stamp = key.rsplit("/", 1)[-1].split("-", 1)[0]
    try:
        uploaded = datetime.strptime(stamp, KEY_TIME_FORMAT).replace(tzinfo=cutoff.tzinfo)
    except ValueError:
        return False  # not a name this code writes: leave it for a person to look at
    return uploaded < cutoff


def _chunks(keys: Iterable[str], size: int) -> Iterable[list[str]]:
    chunk: list[str] = []
    for key in keys:
        chunk.append(key)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def sweep_temp_uploads(folder: Path) -> int:
    """Remove upload temp files a crash left behind: every one no live upload holds.

    Whatever their age: a live upload holds its file's lock until it has deleted it
    (``temp_uploads``), so a file nobody holds belongs to a process that has ended.
    """
    return temp_uploads.sweep(folder)


def sweep_leftovers(store: FootageStore, upload_dir: Path) -> int:
    """Upload temp files and staged footage no live process holds: what a crash left."""
    return sweep_temp_uploads(upload_dir) + store.sweep_staging()


def run(
    uow: UnitOfWork, store: FootageStore, upload_dir: Path,
    progress: Callable[[int, int], None] | None = None,
) -> RetentionReport:
    # First the local, cheap sweeps, so an unreachable store or database cannot hold them up.
    temp_files_removed = sweep_leftovers(store, upload_dir)
    expired, purged = purge_expired(uow, store, progress)
    now = uow.clock.now()
    return RetentionReport(
        expired=expired, purged=purged, orphans_removed=sweep_orphans(uow, store, now),
        temp_files_removed=temp_files_removed,
    )


def sweep(uow: UnitOfWork, store: FootageStore, upload_dir: Path) -> RetentionReport:
    """The worker's periodic pass: leftovers and orphans now, and every expired clip
    shredded now with its bytes left to its ``clip.purge`` job (``purged`` stays 0)."""
    temp_files_removed = sweep_leftovers(store, upload_dir)
    expired = shred_expired(uow)
    now = uow.clock.now()
    return RetentionReport(
        expired=expired, purged=0, orphans_removed=sweep_orphans(uow, store, now),
        temp_files_removed=temp_files_removed,
    )
