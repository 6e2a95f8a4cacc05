"""The Neighbors feed's pages: the feed (list and map), posting, a post with its comments,
its media (inline, never a download), and an agency's public-safety post."""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from porchlight.entrypoints.auth import set_cookie
from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.methods import head_only
from porchlight.entrypoints.web.clip_pages import ranged_response, starts_playback
from porchlight.entrypoints.web.forms import FormModel, Posted, submit
from porchlight.entrypoints.web.render import render, see_other
from porchlight.feed.domain.moderation import RULES, Reason
from porchlight.feed.domain.posts import (
    DEFAULT_RADIUS_M,
    EXPIRY_CHOICES_DAYS,
    MAX_RADIUS_M,
    MIN_RADIUS_M,
    Category,
    PostStatus,
)
from porchlight.feed.services import moderation, posting, reading
from porchlight.footage.services import library
from porchlight.jobs.services import jobs
from porchlight.kernel.domain.errors import PermissionDenied
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.domain.policies import require_agency_staff, require_supervisor
from porchlight.kernel.services.messagebus import post_media_job_key

router = APIRouter(include_in_schema=False)
RADIUS_CHOICES = (500, 1000, 2000, 3000, 5000)
MEDIA_HEADERS = {"content-disposition": "inline", "cache-control": "private, no-store"}


def choices() -> dict:
    return {"categories": [(c.value, c.label) for c in Category],
            "reasons": [(r.value, r.label) for r in Reason],
            "radii": [(r, f"{r / 1000:g} km") for r in RADIUS_CHOICES],
            "expiry_options": [("", "As long as allowed"),
                               *((d, f"{d} days" if d > 1 else "1 day")
                                 for d in EXPIRY_CHOICES_DAYS)],
            "rules": RULES}


RADIUS_COOKIE = "pl_feed_radius"  # the radius the resident chose last (this browser)


def _remembered_radius(request: Request) -> int:
    text = request.cookies.get(RADIUS_COOKIE, "")  # bounded before it is a number
    radius = int(text) if re.fullmatch(r"[0-9]{1,5}", text) else DEFAULT_RADIUS_M
    return radius if MIN_RADIUS_M <= radius <= MAX_RADIUS_M else DEFAULT_RADIUS_M


@router.get("/feed", response_class=HTMLResponse)
def feed_page(request: Request, uow: UowDep, me: ActorDep,
              radius_m: Annotated[int | None, Query(ge=MIN_RADIUS_M, le=MAX_RADIUS_M)] = None,
              category: Annotated[Category | None, Query()] = None,
              cursor: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    """The feed around the viewer; the radius chosen is remembered for the next visit."""
    chosen = radius_m if radius_m is not None else _remembered_radius(request)
    view = reading.feed(uow, me, radius_m=chosen, category=category, cursor=cursor)
    response = render(request, "feed.html", view=view, more_from=cursor is not None,
                      **choices())
    if radius_m is not None:
        set_cookie(request, response, RADIUS_COOKIE, str(radius_m))
    return response


@router.get("/feed/mine", response_class=HTMLResponse)
def my_posts_page(request: Request, uow: UowDep, me: ActorDep) -> HTMLResponse:
    """The author's own posts in every state (drafts, failed, published, removed with the
    moderators' reason), newest first, so none is lost once its page is left."""
    posts = reading.my_posts(uow, me)
    with uow.reading():
        now = uow.clock.now()
    return render(request, "feed_mine.html", posts=posts, now=now,
                  reasons_by_value={r.value: r.label for r in Reason})


class PostForm(FormModel):
    category: Category
    title: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=4000)
    clip_id: UUID | None = None
    start: float | None = Field(default=None, ge=0)
    end: float | None = Field(default=None, gt=0)
    blur: bool = False
    expires_in_days: int | None = None


def _new_page(request: Request, uow: UowDep, me: ActorDep, status: int = 200, **extra
              ) -> HTMLResponse:
    options = [(clip.id, f"{clip.recorded_at:%Y-%m-%d %H:%M} UTC, "
                         f"{clip.duration_seconds:.0f} s")
               for clip in library.my_clips(uow, me) if clip.is_readable]
    return render(request, "feed_new.html", status, clip_options=options, **choices(), **extra)


@router.get("/feed/new", response_class=HTMLResponse)
def new_post(request: Request, uow: UowDep, me: ActorDep) -> HTMLResponse:
    return _new_page(request, uow, me)


@router.post("/feed/new", response_class=HTMLResponse)
def create_post(request: Request, uow: UowDep, me: ActorDep, values: Posted) -> Response:
    def draft(form: PostForm) -> Response:
        post_id = posting.draft_post(uow, me, posting.DraftPost(
            category=form.category, title=form.title, description=form.description,
            clip_id=form.clip_id, start=form.start, end=form.end, blur=form.blur,
            expires_in_days=form.expires_in_days))
        return see_other(f"/feed/posts/{post_id}")

    return submit(PostForm, values, draft,
                  lambda errors: _new_page(request, uow, me, 422, form=values, errors=errors))


def _post_page(request: Request, uow: UowDep, me: ActorDep, post_id: UUID, status: int = 200,
               **extra) -> HTMLResponse:
    detail = reading.post_detail(uow, me, post_id)
    post = detail.view.post
    job = (jobs.job_state(uow, post_media_job_key(post.id))
           if detail.view.mine and post.has_media else None)
    return render(request, "feed_post.html", status, detail=detail, post=post, job=job,
                  draft=post.status is not PostStatus.PUBLISHED, **choices(), **extra)


@router.get("/feed/posts/{post_id}", response_class=HTMLResponse)
def post_page(request: Request, uow: UowDep, me: ActorDep, post_id: UUID,
              reported: Annotated[bool, Query()] = False) -> HTMLResponse:
    """``reported`` (set by the redirect after a report) shows the thank-you at the top."""
    return _post_page(request, uow, me, post_id, reported=reported)


@router.post("/feed/posts/{post_id}/publish")
def publish(uow: UowDep, me: ActorDep, post_id: UUID) -> Response:
    posting.publish(uow, me, post_id)
    return see_other(f"/feed/posts/{post_id}")


@router.post("/feed/posts/{post_id}/withdraw")
def withdraw(uow: UowDep, me: ActorDep, post_id: UUID) -> Response:
    posting.withdraw(uow, me, post_id)
    return see_other("/feed")


@router.get("/feed/posts/{post_id}/media")
async def media(request: Request, container: ContainerDep, me: ActorDep,
                post_id: UUID) -> Response:
    """The post's derived copy, played in the page: inline, never cached, no download."""
    kit = posting.FeedKit(container.footage, lambda: container.redactor,
                          container.settings.data_dir)
    header = request.headers.get("range")
    opened = await run_in_threadpool(reading.open_media, container.uow(), kit, me, post_id,
                                     record=starts_playback(header)
                                     and not head_only(request.scope))
    post = opened.post
    response = ranged_response(
        header, post.media_size, opened.media_type,
        lambda start, end: kit.footage.store.read(post.media_key, opened.data_key, start, end))
    response.headers.update(MEDIA_HEADERS)
    return response


class CommentForm(FormModel):
    body: str = Field(min_length=1, max_length=2000)


@router.post("/feed/posts/{post_id}/comments", response_class=HTMLResponse)
def comment(request: Request, uow: UowDep, me: ActorDep, post_id: UUID,
            values: Posted) -> Response:
    def write(form: CommentForm) -> Response:
        moderation.add_comment(uow, me, post_id, form.body)
        return see_other(f"/feed/posts/{post_id}#comments")

    return submit(CommentForm, values, write, lambda errors: _post_page(
        request, uow, me, post_id, 422, form=values, errors=errors))


class ReportForm(FormModel):
    reason: Reason
    note: str = Field(default="", max_length=1000)
    comment_id: UUID | None = None


@router.post("/feed/posts/{post_id}/report", response_class=HTMLResponse)
def report(request: Request, uow: UowDep, me: ActorDep, post_id: UUID,
           values: Posted) -> Response:
    def file(form: ReportForm) -> Response:
        moderation.report(uow, me, post_id, form.reason, form.note, form.comment_id)
        return see_other(f"/feed/posts/{post_id}?reported=1")  # a reload sends nothing

    return submit(ReportForm, values, file, lambda errors: _post_page(
        request, uow, me, post_id, 422, form=values, errors=errors))


# ---- an agency's public-safety post ---------------------------------------------------


class PublicSafetyForm(FormModel):
    category: Category
    title: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=4000)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: int = Field(ge=250, le=10_000)
    expires_in_days: int | None = None


def _agency_page(request: Request, uow: UowDep, me: ActorDep, status: int = 200, **extra
                 ) -> HTMLResponse:
    staff = require_supervisor(me, require_agency_staff(me).agency_id,
                               "publish a public safety post")
    with uow.reading():
        agency = uow.agencies.get(staff.agency_id)
    if agency is None or not agency.is_verified:
        raise PermissionDenied("only staff of a verified agency may post to the feed")
    return render(request, "feed_agency.html", status, agency=agency, **choices(), **extra)


@router.get("/agency/feed", response_class=HTMLResponse)
def agency_post_form(request: Request, uow: UowDep, me: ActorDep) -> HTMLResponse:
    return _agency_page(request, uow, me)


@router.post("/agency/feed", response_class=HTMLResponse)
def agency_post(request: Request, uow: UowDep, me: ActorDep, values: Posted) -> Response:
    def publish_it(form: PublicSafetyForm) -> Response:
        post_id = posting.publish_public_safety(uow, me, posting.PublicSafetyPost(
            category=form.category, title=form.title, description=form.description,
            centre=LatLon(form.lat, form.lon), radius_m=form.radius_m,
            expires_in_days=form.expires_in_days))
        return see_other(f"/feed/posts/{post_id}")

    return submit(PublicSafetyForm, values, publish_it, lambda errors: _agency_page(
        request, uow, me, 422, form=values, errors=errors), aliases={"location": "lat"})
