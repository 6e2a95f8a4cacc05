"""Comments, reports and the moderation queue (rules in ``feed.domain.moderation``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID, uuid4

from porchlight.feed.domain.moderation import Comment, Reason, Report, Resolution
from porchlight.feed.domain.posts import Post, PostStatus
from porchlight.feed.services.posting import area_cells
from porchlight.feed.services.reading import visible_post
from porchlight.kernel.domain.errors import Conflict, NotFound
from porchlight.kernel.domain.policies import Actor, require_platform_admin, require_resident
from porchlight.kernel.services.ports import UnitOfWork


def add_comment(uow: UnitOfWork, actor: Actor | None, post_id: UUID, body: str) -> UUID:
    """A resident who can see a published post comments on it."""
    with uow:
        author = require_resident(actor)
        post = visible_post(uow, actor, post_id)
        if post.status is not PostStatus.PUBLISHED or post.removed_at is not None:
            raise Conflict("comments open once the post is published")
        comment = Comment.write(comment_id=uuid4(), post_id=post.id, author_id=author.id,
                                body=body, now=uow.clock.now())
        uow.comments.add(comment)
        uow.commit()
        return comment.id


def report(uow: UnitOfWork, actor: Actor | None, post_id: UUID, reason: Reason,
           note: str = "", comment_id: UUID | None = None) -> UUID:
    """Anyone who can see a post reports it (or one of its comments) with a reason. A
    second report of the same thing by the same person is the first one."""
    with uow:
        post = visible_post(uow, actor, post_id)
        if comment_id is not None:
            comment = uow.comments.get(comment_id)
            if comment is None or comment.post_id != post.id or comment.removed_at:
                raise NotFound("no such comment")
        for earlier in uow.reports.by(actor.id, post.id):
            if earlier.comment_id == comment_id and earlier.is_open:
                return earlier.id
        filed = Report.file(report_id=uuid4(), post_id=post.id, comment_id=comment_id,
                            reporter_id=actor.id, reason=reason, note=note,
                            now=uow.clock.now())
        uow.reports.add(filed)
        uow.commit()
        return filed.id


# ---- the queue --------------------------------------------------------------------------


@dataclass
class QueueItem:
    """One reported post or comment, with its open reports, oldest first."""

    post: Post
    comment: Comment | None
    reports: list[Report] = field(default_factory=list)

    @property
    def target_id(self) -> UUID:
        return self.comment.id if self.comment else self.post.id

    @property
    def reported_reason(self) -> Reason:
        """The rule the reports name most often (the oldest report's on a tie)."""
        return Counter(filed.reason for filed in self.reports).most_common(1)[0][0]


@dataclass(frozen=True)
class Queue:
    open: list[QueueItem]
    removed_posts: list[Post]
    removed_comments: list[Comment]


def queue(uow: UnitOfWork, actor: Actor | None) -> Queue:
    with uow.reading():
        require_platform_admin(actor)
        items: dict[tuple[UUID, UUID | None], QueueItem] = {}
        for filed in uow.reports.open():
            key = (filed.post_id, filed.comment_id)
            if key not in items:
                post = uow.posts.get(filed.post_id)
                comment = uow.comments.get(filed.comment_id) if filed.comment_id else None
                items[key] = QueueItem(post, comment)
            items[key].reports.append(filed)
        return Queue(list(items.values()), list(uow.posts.removed()),
                     list(uow.comments.removed()))


def _resolve(uow: UnitOfWork, admin_id: UUID | None, post_id: UUID, comment_id: UUID | None,
             resolution: Resolution) -> None:
    now = uow.clock.now()
    for filed in uow.reports.open_for(post_id, comment_id):
        filed.resolve(admin_id=admin_id, resolution=resolution, now=now)


def _post(uow: UnitOfWork, post_id: UUID) -> Post:
    """A post moderators may act on: one that was published (a draft, a failed post or
    one still being prepared is its author's alone: "not found", nothing changed)."""
    post = uow.posts.get(post_id)
    if post is None or post.is_purged or post.status is not PostStatus.PUBLISHED:
        raise NotFound("no such post")
    uow.lock(post)
    return post


def remove_post(uow: UnitOfWork, actor: Actor | None, post_id: UUID, reason: Reason,
                note: str) -> None:
    """A platform admin takes a post out of every feed; its author is shown why."""
    with uow:
        admin = require_platform_admin(actor)
        post = _post(uow, post_id)
        post.remove(admin_id=admin.id, reason=reason, note=note, now=uow.clock.now())
        uow.posts.hide(post.id)
        _resolve(uow, admin.id, post.id, None, Resolution.REMOVED)
        uow.commit()


def restore_post(uow: UnitOfWork, actor: Actor | None, post_id: UUID) -> None:
    with uow:
        admin = require_platform_admin(actor)
        post = _post(uow, post_id)
        post.restore(admin_id=admin.id)
        if post.is_visible(uow.clock.now()):
            uow.posts.show_in(post, area_cells(post))
        uow.commit()


def _comment(uow: UnitOfWork, comment_id: UUID) -> Comment:
    comment = uow.comments.get(comment_id)
    if comment is None:
        raise NotFound("no such comment")
    uow.lock(comment)
    return comment


def remove_comment(uow: UnitOfWork, actor: Actor | None, comment_id: UUID, reason: Reason,
                   note: str) -> None:
    with uow:
        admin = require_platform_admin(actor)
        comment = _comment(uow, comment_id)
        comment.remove(admin_id=admin.id, reason=reason, note=note, now=uow.clock.now())
        _resolve(uow, admin.id, comment.post_id, comment.id, Resolution.REMOVED)
        uow.commit()


def restore_comment(uow: UnitOfWork, actor: Actor | None, comment_id: UUID) -> None:
    with uow:
        admin = require_platform_admin(actor)
        _comment(uow, comment_id).restore(admin_id=admin.id)
        uow.commit()


def dismiss_report(uow: UnitOfWork, actor: Actor | None, report_id: UUID) -> None:
    """The admin finds no rule broken: the report (and the others on the same thing)
    leave the queue."""
    with uow:
        admin = require_platform_admin(actor)
        filed = uow.reports.get(report_id)
        if filed is None:
            raise NotFound("no such report")
        if not filed.is_open:
            raise Conflict("this report is already closed")
        _resolve(uow, admin.id, filed.post_id, filed.comment_id, Resolution.DISMISSED)
        uow.commit()
