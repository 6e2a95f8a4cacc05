"""Posting to the feed: a resident drafts a post (text, or a part of one of their clips),
a job makes the post's media, the author previews it and publishes; a verified agency
publishes a public-safety post to an area.

The media is a derived copy, never the original: the chosen part of the clip, with
bystanders' faces blurred unless the author unticked it (the redaction engine, behind the
``Redactor`` port), encrypted under a data key of its own. Making it is the
``post.prepare_media`` job (the drafting commit's ``PostDrafted`` event asks for it):
idempotent, since it does nothing unless the post is still being prepared, and a copy
published by a run killed before its commit is left for the orphan sweep.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

from porchlight.feed.domain.posts import (
    DEFAULT_RETENTION_DAYS,
    Category,
    ClipChoice,
    Post,
    PostStatus,
    check_trim,
    expiry,
)
from porchlight.feed.services import cells
from porchlight.footage.domain.clips import Clip
from porchlight.footage.services.library import Footage, clip_data_key, decrypt_to
from porchlight.footage.services.retention import KEY_TIME_FORMAT
from porchlight.kernel.domain.errors import NotFound, PermissionDenied, ValidationFailed
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.domain.policies import (
    Actor,
    is_staff_of,
    require_agency_staff,
    require_resident,
    require_supervisor,
)
from porchlight.kernel.services.ports import UnitOfWork
from porchlight.redaction.domain.options import RedactionOptions
from porchlight.redaction.services.ports import RedactionFailed, Redactor

Progress = Callable[[int, int], None]
TRIM_EARLY_SLACK = 0.25  # seconds a plain trim may start before the chosen start


class TrimInexact(Exception):
    """A plain (stream-copy) trim would show more than the author chose: it can only start
    at a keyframe, and the one before the chosen start is too far back."""


@dataclass(frozen=True)
class FeedKit:
    """What the media job needs besides the unit of work. ``redactor`` builds the face
    blurring engine; when it cannot blur (no model, an unreadable video) a post asking for
    blurring fails with ``redaction_failed`` rather than go out unblurred."""

    footage: Footage
    redactor: Callable[[], Redactor]
    workdir: Path


@dataclass(frozen=True)
class DraftPost:
    category: Category
    title: str
    description: str = ""
    clip_id: UUID | None = None
    start: float | None = None  # seconds into the clip
    end: float | None = None
    blur: bool = True
    expires_in_days: int | None = None  # None: as long as the clip's retention allows


@dataclass(frozen=True)
class PublicSafetyPost:
    category: Category
    title: str
    description: str
    centre: LatLon
    radius_m: int
    expires_in_days: int | None = None


def key_context(post_id: UUID) -> bytes:
    return f"post:{post_id}".encode()


def _clip_choice(uow: UnitOfWork, owner_id: UUID, cmd: DraftPost) -> tuple[ClipChoice, Clip]:
    clip = uow.clips.get(cmd.clip_id)
    if clip is None or clip.owner_id != owner_id or not clip.is_readable:
        raise ValidationFailed("pick one of your clips", field="clip_id")
    start, end = check_trim(cmd.start, cmd.end, clip.duration_seconds)
    return ClipChoice(clip.id, clip.sha256, start, end, cmd.blur), clip


def draft_post(uow: UnitOfWork, actor: Actor, cmd: DraftPost) -> UUID:
    """Start a post at the author's home cell; with a clip, its media job is queued."""
    with uow:
        author = require_resident(actor)
        if author.home is None:
            raise ValidationFailed("set your home location on your account first")
        now, choice, camera_days, clip_ends = uow.clock.now(), None, None, None
        if cmd.clip_id is not None:
            choice, clip = _clip_choice(uow, author.id, cmd)
            camera = uow.cameras.get(clip.camera_id)
            camera_days, clip_ends = camera.retention_days, clip.expires_at
        post = Post.draft(
            post_id=uuid4(), author_id=author.id, category=cmd.category, title=cmd.title,
            description=cmd.description, place=cells.snap(author.home), now=now,
            expires_at=expiry(now, chosen_days=cmd.expires_in_days, camera_days=camera_days,
                              clip_expires_at=clip_ends), clip=choice)
        uow.posts.add(post)
        uow.commit()
        return post.id


def _own_post(uow: UnitOfWork, actor: Actor, post_id: UUID) -> Post:
    author = require_resident(actor)
    post = uow.posts.get(post_id)
    if post is None or post.author_id != author.id or post.is_purged:
        raise NotFound("no such post")
    return post


def publish(uow: UnitOfWork, actor: Actor, post_id: UUID) -> None:
    """The author, having previewed it, shows the post to the neighbours."""
    with uow:
        post = _own_post(uow, actor, post_id)
        uow.lock(post)
        post.publish(actor_id=post.author_id, now=uow.clock.now())
        uow.posts.show_in(post, [post.cell])
        uow.commit()


def withdraw(uow: UnitOfWork, actor: Actor, post_id: UUID) -> None:
    """The author deletes the post: out of every feed, its words gone, its media key
    shredded now and its bytes deleted by the ``post.purge`` job. An agency's public-safety
    post is the agency's: any supervisor (or admin) of that agency takes it down."""
    with uow:
        post = uow.posts.get(post_id)
        if post is not None and post.agency_id is not None and not post.is_purged \
                and is_staff_of(actor, post.agency_id):
            by = require_supervisor(actor, post.agency_id, "take down a public safety post").id
        else:
            post = _own_post(uow, actor, post_id)
            by = post.author_id
        uow.lock(post)
        post.withdraw(actor_id=by, now=uow.clock.now())
        uow.posts.hide(post.id)
        forget_comments(uow, post.id)
        uow.commit()


def forget_comments(uow: UnitOfWork, post_id: UUID) -> None:
    """A post that goes takes its conversation with it (the rows stay, without words)."""
    for comment in uow.comments.for_post(post_id):
        comment.body = ""


def publish_public_safety(uow: UnitOfWork, actor: Actor, cmd: PublicSafetyPost) -> UUID:
    """A supervisor (or admin) of a verified agency posts to an area: residents whose
    feed covers any of its cells see it, marked as the agency's public-safety post."""
    with uow:
        staff = require_agency_staff(actor)
        require_supervisor(actor, staff.agency_id, "publish a public safety post")
        agency = uow.agencies.get(staff.agency_id)
        if agency is None or not agency.is_verified:
            raise PermissionDenied("only a verified agency may post to the feed")
        area = cells.cells_within(cmd.centre, cmd.radius_m)
        now = uow.clock.now()
        post = Post.public_safety(
            post_id=uuid4(), author_id=staff.id, agency_id=agency.id, category=cmd.category,
            title=cmd.title, description=cmd.description, place=cells.snap(cmd.centre),
            radius_m=cmd.radius_m, cells=len(area), now=now,
            expires_at=expiry(now, chosen_days=cmd.expires_in_days,
                              camera_days=DEFAULT_RETENTION_DAYS))
        uow.posts.add(post)
        uow.posts.show_in(post, area)
        uow.commit()
        return post.id


def area_cells(post: Post) -> list[int]:
    """The cells a post is shown in: its own, or every cell of an agency post's area."""
    if post.area_radius_m is None:
        return [post.cell]
    return cells.cells_within(LatLon(post.lat, post.lon), post.area_radius_m)


# ---- the media job ----------------------------------------------------------------------


def prepare_media(uow: UnitOfWork, kit: FeedKit, post_id: UUID,
                  progress: Progress | None = None) -> None:
    """The ``post.prepare_media`` job: make, seal and record the post's derived copy."""
    with uow.reading():
        post = uow.posts.get(post_id)
        if post is None or post.status is not PostStatus.PREPARING or post.is_purged:
            return
        clip = uow.clips.get(post.source_clip_id)
        readable = clip is not None and clip.is_readable
        data_key = clip_data_key(kit.footage, clip) if readable else None
    if data_key is None:
        return _failed(uow, post_id, "source_gone")
    kit.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=kit.workdir) as folder:
        plain, made = Path(folder) / "source", Path(folder) / "made"
        decrypt_to(kit.footage.store, clip.object_key, data_key, clip.size_bytes, plain)
        try:
            container, provenance = _derive(kit, post, plain, made, progress)
        except RedactionFailed:
            return _failed(uow, post_id, "redaction_failed")
        except TrimInexact:
            return _failed(uow, post_id, "trim_inexact")
        _store(uow, kit.footage, post, made, container, provenance)


def _derive(kit: FeedKit, post: Post, source: Path, target: Path, progress: Progress | None
            ) -> tuple[str, dict | None]:
    """Blurred (and trimmed) by the redaction engine, which re-encodes exactly the chosen
    part, or only trimmed by stream copy, which starts at the keyframe at or before the
    chosen start: a copy that would show more than the author chose (more than
    TRIM_EARLY_SLACK earlier, or past the frame showing at the chosen end) is refused."""
    if not post.blur:
        cut = kit.footage.video.trim(source, target, post.trim_start, post.trim_end)
        frame = 1 / cut.info.frame_rate if cut.info.frame_rate > 0 else 0.0
        if (cut.start_seconds < post.trim_start - TRIM_EARLY_SLACK
                or cut.end_seconds > post.trim_end + frame + 1e-3):
            target.unlink(missing_ok=True)
            raise TrimInexact(f"the copy covers {cut.start_seconds:.2f} to "
                              f"{cut.end_seconds:.2f} s")
        return cut.info.container, None
    options = RedactionOptions(start=post.trim_start, end=post.trim_end)
    report = kit.redactor().redact(source, target, options, progress)
    return "mp4", {"detector": report.detector, "detector_version": report.detector_version,
                   "params": options.params(), "engine_params": report.engine_params,
                   "tracks": len(report.tracks)}


def _store(uow: UnitOfWork, kit: Footage, post: Post, made: Path, container: str,
           provenance: dict | None) -> None:
    data_key = secrets.token_bytes(32)
    stamp = uow.clock.now().strftime(KEY_TIME_FORMAT)  # the orphan sweep reads the time
    key = f"posts/{stamp}-{post.id}-{secrets.token_hex(4)}.video"  # one per run
    with kit.store.seal(key, made, data_key) as stored:
        stored.publish()
    try:
        with uow:
            current = uow.posts.get(post.id)
            uow.lock(current)
            kept = current.status is PostStatus.PREPARING and not current.is_purged
            if kept:  # the clip may have been deleted while the copy was being made
                clip = uow.clips.get(current.source_clip_id)
                if clip is not None:
                    uow.lock(clip)
                if clip is None or not clip.is_readable:
                    kept = False
                    current.media_failed("source_gone")
                else:
                    current.media_ready(
                        key=key,
                        wrapped_key=kit.vault.seal(data_key, context=key_context(post.id)),
                        sha256=stored.sha256, size=stored.size, container=container,
                        redaction=provenance)
                uow.commit()
    except BaseException:
        kit.store.delete(key)
        raise
    if not kept:  # withdrawn, expired, its clip gone, or made by another run meanwhile
        kit.store.delete(key)


def _failed(uow: UnitOfWork, post_id: UUID, reason: str) -> None:
    with uow:
        post = uow.posts.get(post_id)
        uow.lock(post)
        post.media_failed(reason)
        uow.commit()
