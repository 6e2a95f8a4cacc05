"""Posts outlive nothing: expiry and purge by crypto-shredding, as clips are purged.

(1) A post past its expiry (or withdrawn by its author) leaves every feed, loses its
words, and its media's wrapped data key is destroyed, all in one commit with its audit
event: from then on the copy is unreadable. (2) The ``post.purge`` job, which that
event asks for, deletes the encrypted bytes and (3) marks the post purged. Each step is
safe to repeat, and a run killed anywhere is finished by the next sweep or job retry.

When the clip a post was made from is deleted before the post expires (its owner
deleted it), the post's media goes with it (``source_gone``, the ``feed.clip_gone`` job
that the clip's ``ClipKeyShredded`` asks for); the post's words stay until it expires.
"""

from __future__ import annotations

from uuid import UUID

from porchlight.feed.domain.posts import PostStatus
from porchlight.feed.services.posting import forget_comments
from porchlight.kernel.services.ports import FootageStore, UnitOfWork

BATCH = 100


def expire(uow: UnitOfWork, post_id: UUID, *, reason: str = "retention") -> bool:
    """Step 1 for one post; whether it did anything."""
    with uow:
        post = uow.posts.get(post_id)
        if post is None or post.is_purged or post.purge_reason is not None:
            return False
        uow.lock(post)
        post.purge_text(now=uow.clock.now(), reason=reason, actor_id=None)
        uow.posts.hide(post.id)
        forget_comments(uow, post.id)
        uow.commit()
        return True


def expire_due(uow: UnitOfWork) -> int:
    """The sweep: step 1 for every post past its expiry, a short transaction each."""
    with uow.reading():
        now = uow.clock.now()
    done, seen = 0, set()
    while True:
        with uow.reading():
            batch = [post.id for post in uow.posts.expired(now, BATCH)
                     if post.id not in seen]
        if not batch:
            return done
        for post_id in batch:
            seen.add(post_id)
            done += expire(uow, post_id)


def finish_purge(uow: UnitOfWork, store: FootageStore, post_id: UUID) -> None:
    """Steps 2 and 3, the ``post.purge`` job: delete the media's bytes, then mark it."""
    with uow.reading():
        post = uow.posts.get(post_id)
        if post is None or post.purged_at is not None:
            return
        key, shredded = post.media_key, post.wrapped_key is None
    if not shredded:
        return  # not asked for by a shredding: nothing to do
    if key:
        store.delete(key)
    with uow:
        post = uow.posts.get(post_id)
        uow.lock(post)
        post.media_deleted(now=uow.clock.now(), actor_id=None)
        uow.commit()


def source_gone(uow: UnitOfWork, clip_id: UUID) -> int:
    """The ``feed.clip_gone`` job: shred the media of every post made from a clip that
    is gone (the posts' ``post.purge`` jobs delete the bytes), and fail the posts whose
    media was still being made (``source_gone``)."""
    with uow.reading():
        posts = [post.id for post in uow.posts.from_clip(clip_id)]
    shredded = 0
    for post_id in posts:
        with uow:
            post = uow.posts.get(post_id)
            uow.lock(post)
            if post.status is PostStatus.PREPARING:  # its job will find nothing to copy
                post.media_failed("source_gone")
                uow.commit()
            elif post.shred(reason="source_deleted", actor_id=None):
                shredded += 1
                uow.commit()
    return shredded
