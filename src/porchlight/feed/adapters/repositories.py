"""The feed's repositories over the unit of work's SQLAlchemy session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, insert, select

from porchlight.feed.adapters.feed_query import newest
from porchlight.feed.domain.moderation import Comment, Report
from porchlight.feed.domain.posts import FeedPage, Post
from porchlight.kernel.adapters.db import tables
from porchlight.kernel.adapters.db.repositories import _Repository


class SqlPostRepository(_Repository[Post]):
    model = Post

    def show_in(self, post: Post, cells: Sequence[int]) -> None:
        """Put the post in the feed of these cells (publish, restore)."""
        self.session.flush()
        self.hide(post.id)
        self.session.execute(insert(tables.post_cells), [
            {"cell": cell, "post_id": post.id, "published_at": post.published_at,
             "category": post.category.value, "expires_at": post.expires_at}
            for cell in sorted(set(cells))])

    def hide(self, post_id: UUID) -> None:
        """Take the post out of every feed (removed, withdrawn, expired)."""
        self.session.execute(delete(tables.post_cells)
                             .where(tables.post_cells.c.post_id == post_id))

    def cells_of(self, post_id: UUID) -> list[int]:
        return list(self.session.scalars(select(tables.post_cells.c.cell)
                                         .where(tables.post_cells.c.post_id == post_id)))

    def feed(self, page: FeedPage) -> list[Post]:
        """The page's posts, newest first (see feed.adapters.feed_query)."""
        rows = newest(self.session.connection(), page)
        found = self.get_many([post_id for post_id, _ in rows])
        return [found[post_id] for post_id, _ in rows if post_id in found]

    def by_author(self, author_id: UUID, limit: int = 200) -> Sequence[Post]:
        return self._all(select(Post).where(Post.author_id == author_id)
                         .order_by(Post.created_at.desc(), Post.id.desc()).limit(limit))

    def from_clip(self, clip_id: UUID) -> Sequence[Post]:
        return self._all(select(Post).where(Post.source_clip_id == clip_id))

    def expired(self, now: datetime, limit: int) -> Sequence[Post]:
        """Posts past their expiry not yet taken down (not purged, nor on their way:
        withdrawn ones wait for their purge job), oldest expiry first."""
        return self._all(select(Post).where(Post.purged_at.is_(None), Post.expires_at <= now,
                                            Post.purge_reason.is_(None))
                         .order_by(Post.expires_at, Post.id).limit(limit))

    def removed(self, limit: int = 100) -> Sequence[Post]:
        return self._all(select(Post).where(Post.removed_at.is_not(None),
                                            Post.purged_at.is_(None))
                         .order_by(Post.removed_at.desc()).limit(limit))

    def known_object_keys(self, keys: Sequence[str]) -> set[str]:
        return set(self.session.scalars(select(Post.media_key)
                                        .where(Post.media_key.in_(list(keys)))))


class SqlCommentRepository(_Repository[Comment]):
    model = Comment

    def for_post(self, post_id: UUID) -> Sequence[Comment]:
        return self._all(select(Comment).where(Comment.post_id == post_id)
                         .order_by(Comment.created_at, Comment.id))

    def removed(self, limit: int = 100) -> Sequence[Comment]:
        return self._all(select(Comment).where(Comment.removed_at.is_not(None))
                         .order_by(Comment.removed_at.desc()).limit(limit))


class SqlReportRepository(_Repository[Report]):
    model = Report

    def open(self, limit: int = 200) -> Sequence[Report]:
        return self._all(select(Report).where(Report.resolved_at.is_(None))
                         .order_by(Report.created_at, Report.id).limit(limit))

    def open_for(self, post_id: UUID, comment_id: UUID | None) -> Sequence[Report]:
        query = select(Report).where(Report.post_id == post_id, Report.resolved_at.is_(None))
        if comment_id is not None:
            query = query.where(Report.comment_id == comment_id)
        else:
            query = query.where(Report.comment_id.is_(None))
        return self._all(query)

    def by(self, reporter_id: UUID, post_id: UUID) -> Sequence[Report]:
        return self._all(select(Report).where(Report.reporter_id == reporter_id,
                                              Report.post_id == post_id))
