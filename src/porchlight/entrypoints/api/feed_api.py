"""JSON API of the Neighbors feed: the feed around the caller, posting (text or a part of
a clip, through the media job), publishing, comments, reports, an agency's public-safety
post, and the platform admins' moderation. No answer names a post's author: ``mine``
says whether it is the caller's own."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from porchlight.entrypoints.api.routes import ERROR_RESPONSES
from porchlight.entrypoints.deps import ActorDep, UowDep
from porchlight.feed.domain.moderation import Reason
from porchlight.feed.domain.posts import (
    AGENCY_MAX_RADIUS_M,
    AGENCY_MIN_RADIUS_M,
    DEFAULT_RADIUS_M,
    MAX_RADIUS_M,
    MIN_RADIUS_M,
    Category,
)
from porchlight.feed.services import moderation, posting, reading
from porchlight.kernel.domain.geo import LatLon

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["feed"])


class PostOut(BaseModel):
    id: UUID
    category: str
    title: str
    description: str
    status: str = Field(description="preparing, draft, failed or published")
    location: list[float] = Field(min_length=2, max_length=2, description=(
        "[latitude, longitude] of the centre of the post's H3 resolution-8 cell, never "
        "the author's home"))
    author: str = Field(description='"a neighbour", "you", or the agency\'s name')
    mine: bool
    public_safety: bool
    agency: str | None
    published_at: datetime | None
    expires_on: date = Field(description="the post is gone by the start of this day (UTC): "
                             "its expiry rounded up to a whole day, never the precise moment")
    has_video: bool
    video_url: str | None
    distance_m: int | None = Field(description="from the caller's home (or agency centre) "
                                   "to the shown point")
    removed_reason: str | None = Field(description="shown to the author when moderators "
                                       "removed the post")
    failure: str | None

    @classmethod
    def of(cls, view: reading.PostView) -> PostOut:
        post = view.post
        removed = post.removed_reason if (view.mine and post.removed_at) else None
        return cls(id=post.id, category=post.category.value, title=post.title,
                   description=post.description, status=post.status.value,
                   location=[post.lat, post.lon], author=view.author_label, mine=view.mine,
                   public_safety=view.public_safety, agency=view.agency_name,
                   published_at=post.published_at, expires_on=post.expires_on,
                   has_video=post.has_media,
                   video_url=f"/feed/posts/{post.id}/media" if post.media_readable else None,
                   distance_m=view.distance_m, removed_reason=removed,
                   failure=post.failure if view.mine else None)


class FeedOut(BaseModel):
    posts: list[PostOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page")
    radius_m: int


class CommentOut(BaseModel):
    id: UUID
    body: str
    author: str
    mine: bool
    created_at: datetime
    removed: bool


class PostDetailOut(BaseModel):
    post: PostOut
    comments: list[CommentOut]


class PostIn(BaseModel):
    category: Category
    title: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=4000)
    clip_id: UUID | None = Field(default=None, description="one of your clips: its media "
                                 "is prepared by a job; publish once `status` is draft")
    start: float | None = Field(default=None, ge=0, le=86_400)
    end: float | None = Field(default=None, gt=0, le=86_400)
    blur: bool = Field(default=True, description="blur faces (on unless you turn it off)")
    expires_in_days: int | None = Field(default=None, description="1, 7, 30, 60 or 180; "
                                        "never past the clip's retention")


class PublicSafetyIn(BaseModel):
    category: Category = Category.SAFETY
    title: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=4000)
    location: list[float] = Field(min_length=2, max_length=2,
                                  description="[latitude, longitude] of the area's centre")
    radius_m: int = Field(ge=AGENCY_MIN_RADIUS_M, le=AGENCY_MAX_RADIUS_M)
    expires_in_days: int | None = None


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=2000)


class ReportIn(BaseModel):
    reason: Reason
    note: str = Field(default="", max_length=1000)
    comment_id: UUID | None = None


class Created(BaseModel):
    id: UUID


class RemoveIn(BaseModel):
    reason: Reason
    note: str = Field(min_length=1, max_length=1000, description="shown to the author")


def _detail(uow: UowDep, actor: ActorDep, post_id: UUID) -> PostDetailOut:
    detail = reading.post_detail(uow, actor, post_id)
    comments = [CommentOut(id=c.comment.id, body=c.comment.body, author=c.author_label,
                           mine=c.mine, created_at=c.comment.created_at,
                           removed=c.comment.removed_at is not None)
                for c in detail.comments]
    return PostDetailOut(post=PostOut.of(detail.view), comments=comments)


@router.get("/feed", response_model=FeedOut)
def get_feed(uow: UowDep, actor: ActorDep,
             radius_m: Annotated[int, Query(ge=MIN_RADIUS_M, le=MAX_RADIUS_M)] = DEFAULT_RADIUS_M,
             category: Annotated[Category | None, Query()] = None,
             cursor: Annotated[str | None, Query(max_length=200)] = None) -> FeedOut:
    """Published posts around the caller's home (agency staff: their agency's centre),
    newest first, 20 a page; `next_cursor` gives the next page."""
    view = reading.feed(uow, actor, radius_m=radius_m, category=category, cursor=cursor)
    return FeedOut(posts=[PostOut.of(item) for item in view.posts],
                   next_cursor=view.next_cursor, radius_m=view.radius_m)


@router.post("/feed/posts", response_model=PostDetailOut, status_code=201)
def create_post(body: PostIn, uow: UowDep, actor: ActorDep) -> PostDetailOut:
    """A resident drafts a post at their home's cell; only they see it until published."""
    post_id = posting.draft_post(uow, actor, posting.DraftPost(
        category=body.category, title=body.title, description=body.description,
        clip_id=body.clip_id, start=body.start, end=body.end, blur=body.blur,
        expires_in_days=body.expires_in_days))
    return _detail(uow, actor, post_id)


@router.get("/feed/posts/{post_id}", response_model=PostDetailOut)
def get_post(post_id: UUID, uow: UowDep, actor: ActorDep) -> PostDetailOut:
    return _detail(uow, actor, post_id)


@router.post("/feed/posts/{post_id}/publish", response_model=PostDetailOut)
def publish_post(post_id: UUID, uow: UowDep, actor: ActorDep) -> PostDetailOut:
    """The author publishes a draft whose media (if any) is ready (409 otherwise)."""
    posting.publish(uow, actor, post_id)
    return _detail(uow, actor, post_id)


@router.post("/feed/posts/{post_id}/comments", response_model=Created, status_code=201)
def add_comment(post_id: UUID, body: CommentIn, uow: UowDep, actor: ActorDep) -> Created:
    return Created(id=moderation.add_comment(uow, actor, post_id, body.body))


@router.post("/feed/posts/{post_id}/reports", response_model=Created, status_code=201)
def report_post(post_id: UUID, body: ReportIn, uow: UowDep, actor: ActorDep) -> Created:
    """Report a post (or, with `comment_id`, one of its comments) to the moderators."""
    return Created(id=moderation.report(uow, actor, post_id, body.reason, body.note,
                                        body.comment_id))


@router.post("/feed/public-safety", response_model=PostDetailOut, status_code=201)
def public_safety(body: PublicSafetyIn, uow: UowDep, actor: ActorDep) -> PostDetailOut:
    """A supervisor of a verified agency posts to an area (published at once)."""
    post_id = posting.publish_public_safety(uow, actor, posting.PublicSafetyPost(
        category=body.category, title=body.title, description=body.description,
        centre=LatLon(*body.location), radius_m=body.radius_m,
        expires_in_days=body.expires_in_days))
    return _detail(uow, actor, post_id)


@router.post("/feed/posts/{post_id}/remove", response_model=PostDetailOut)
def remove_post(post_id: UUID, body: RemoveIn, uow: UowDep, actor: ActorDep
                ) -> PostDetailOut:
    """A platform admin removes a post with a reason its author is shown."""
    moderation.remove_post(uow, actor, post_id, body.reason, body.note)
    return _detail(uow, actor, post_id)


@router.post("/feed/posts/{post_id}/restore", response_model=PostDetailOut)
def restore_post(post_id: UUID, uow: UowDep, actor: ActorDep) -> PostDetailOut:
    moderation.restore_post(uow, actor, post_id)
    return _detail(uow, actor, post_id)
