"""Reading the feed: the page of posts around a viewer, one post with its comments, and
its media.

Who sees what:

* a resident sees the published posts (not removed, not expired) whose cells their feed
  covers: within their radius (0.5 to 5 km) of their home, plus the cell snap;
* agency staff of a verified agency see exactly what a resident living at their
  agency's centre would see (no author, no original, nothing to request footage with);
* the author sees their own posts in every state, with a moderator's reason if one was
  removed; a platform admin sees any post not purged (the moderation queue links to it);
* nobody else sees anything: anonymous callers are asked to sign in, and a post out of
  reach is "not found".

No one but its author (and a moderator) ever learns who posted: the views carry "a
neighbour", or the agency's name for a public-safety post.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from porchlight.accounts.domain.accounts import Account, AccountKind, StaffRole
from porchlight.feed.domain.moderation import Comment, Reason
from porchlight.feed.domain.posts import (
    DEFAULT_RADIUS_M,
    MAX_RADIUS_M,
    Category,
    FeedPage,
    Post,
    PostAccessDenied,
    PostMediaViewed,
    PostStatus,
    check_radius,
)
from porchlight.feed.services import cells
from porchlight.feed.services.posting import FeedKit, key_context
from porchlight.kernel.domain.errors import NotFound, PermissionDenied, ValidationFailed
from porchlight.kernel.domain.geo import LatLon, haversine_m
from porchlight.kernel.domain.policies import (
    Actor,
    is_staff_of,
    require_agency_staff,
    require_platform_admin,
    require_resident,
)
from porchlight.kernel.services.ports import UnitOfWork

PAGE_SIZE = 20


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: the last post of this one (opaque to clients)."""

    published_at: datetime
    post_id: UUID

    def encode(self) -> str:
        raw = f"{self.published_at.isoformat()}|{self.post_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            when, post_id = raw.split("|")
            moment = datetime.fromisoformat(when)
            if moment.tzinfo is None:
                raise ValueError(when)
            return cls(moment, UUID(post_id))
        except ValueError:
            raise ValidationFailed("this is not a cursor this feed gave", field="cursor"
                                   ) from None


@dataclass(frozen=True)
class Viewer:
    """Who is looking, and from where."""

    account: Account
    centre: LatLon | None  # a resident's home, an agency's centre; None for an admin

    @property
    def is_admin(self) -> bool:
        return self.account.kind is AccountKind.PLATFORM_ADMIN


@dataclass(frozen=True)
class PostView:
    """A post as the viewer may see it."""

    post: Post
    mine: bool
    author_label: str  # "a neighbour", "you", or the agency's name
    agency_name: str | None
    distance_m: int | None  # from the viewer's centre to the shown point, rounded
    can_withdraw: bool = False  # the author, or a supervisor of the posting agency

    @property
    def public_safety(self) -> bool:
        return self.post.is_public_safety


@dataclass(frozen=True)
class FeedView:
    posts: list[PostView]
    next_cursor: str | None
    centre: LatLon
    radius_m: int
    category: Category | None


@dataclass(frozen=True)
class CommentView:
    comment: Comment
    mine: bool
    author_label: str


@dataclass(frozen=True)
class PostDetail:
    view: PostView
    comments: list[CommentView]
    removal_reason: str | None  # the reason's label, when removed (author and admins)


def viewer(uow: UnitOfWork, actor: Actor | None, *, admins: bool = False) -> Viewer:
    """The caller as a feed viewer (inside a unit of work)."""
    if isinstance(actor, Account) and actor.kind is AccountKind.PLATFORM_ADMIN and admins:
        return Viewer(require_platform_admin(actor), None)
    if isinstance(actor, Account) and actor.kind is AccountKind.STAFF:
        staff = require_agency_staff(actor)
        agency = uow.agencies.get(staff.agency_id)
        if agency is None or not agency.is_verified:
            raise PermissionDenied("the feed is open to verified agencies only")
        return Viewer(staff, agency.center)
    resident = require_resident(actor)
    if resident.home is None:
        raise ValidationFailed("set your home location on your account first")
    return Viewer(resident, resident.home)


def feed(uow: UnitOfWork, actor: Actor | None, *, radius_m: int = DEFAULT_RADIUS_M,
         category: Category | None = None, cursor: str | None = None,
         since: datetime | None = None) -> FeedView:
    """The newest published posts around the viewer, PAGE_SIZE at a time."""
    radius_m = check_radius(radius_m)
    before = Cursor.decode(cursor) if cursor else None
    with uow.reading():
        who = viewer(uow, actor)
        page = FeedPage(tuple(cells.feed_cells(who.centre, radius_m)), PAGE_SIZE + 1,
                        uow.clock.now(), since=since,
                        before=(before.published_at, before.post_id) if before else None,
                        category=category.value if category else None)
        posts = uow.posts.feed(page)
        shown = [_view(uow, who, post) for post in posts[:PAGE_SIZE]]
    last = posts[PAGE_SIZE - 1] if len(posts) > PAGE_SIZE else None
    following = Cursor(last.published_at, last.id).encode() if last else None
    return FeedView(shown, following, who.centre, radius_m, category)


def _view(uow: UnitOfWork, who: Viewer, post: Post) -> PostView:
    mine = post.author_id == who.account.id
    agency = uow.agencies.get(post.agency_id) if post.agency_id else None
    label = agency.name if agency else ("you" if mine else "a neighbour")
    distance = (round(haversine_m(who.centre, LatLon(post.lat, post.lon)))
                if who.centre is not None else None)
    if post.agency_id is None:
        can_withdraw = mine
    else:
        can_withdraw = (is_staff_of(who.account, post.agency_id) and who.account.staff_role
                        in (StaffRole.SUPERVISOR, StaffRole.AGENCY_ADMIN))
    return PostView(post, mine, label, agency.name if agency else None, distance,
                    can_withdraw=can_withdraw)


def _within_reach(who: Viewer, post: Post) -> bool:
    """Whether some feed of the viewer's (at its widest radius) covers the post."""
    reach = MAX_RADIUS_M + cells.REACH_M
    if post.area_radius_m is None:
        return haversine_m(who.centre, LatLon(post.lat, post.lon)) <= reach
    return haversine_m(who.centre, LatLon(post.lat, post.lon)) <= reach + post.area_radius_m


def may_see(who: Viewer, post: Post | None, now: datetime) -> bool:
    if post is None or post.is_purged:
        return False
    if post.author_id == who.account.id:
        return True
    if who.is_admin:  # moderation: what was published, removed or not; never a draft
        return post.status is PostStatus.PUBLISHED
    return post.is_visible(now) and _within_reach(who, post)


def _visible(uow: UnitOfWork, actor: Actor | None, post_id: UUID) -> tuple[Viewer, Post]:
    who = viewer(uow, actor, admins=True)
    post = uow.posts.get(post_id)
    if not may_see(who, post, uow.clock.now()):
        raise NotFound("no such post")
    return who, post


def visible_post(uow: UnitOfWork, actor: Actor | None, post_id: UUID) -> Post:
    """The post, if the caller may see it (for the services that act on it)."""
    return _visible(uow, actor, post_id)[1]


def post_detail(uow: UnitOfWork, actor: Actor | None, post_id: UUID) -> PostDetail:
    with uow.reading():
        who, post = _visible(uow, actor, post_id)
        view = _view(uow, who, post)
        comments = [CommentView(c, c.author_id == who.account.id,
                                "you" if c.author_id == who.account.id else "a neighbour")
                    for c in uow.comments.for_post(post.id)
                    if c.removed_at is None or c.author_id == who.account.id or who.is_admin]
    reason = Reason(post.removed_reason).label if post.removed_reason else None
    return PostDetail(view, comments, reason)


@dataclass(frozen=True)
class OpenMedia:
    post: Post
    data_key: bytes

    @property
    def media_type(self) -> str:
        return "video/webm" if self.post.media_container == "matroska" else "video/mp4"


def open_media(uow: UnitOfWork, kit: FeedKit, actor: Actor | None, post_id: UUID, *,
               record: bool) -> OpenMedia:
    """The post's derived copy, to whoever may see the post (its author while drafting).
    Footage: a refusal is audited (``post.access_denied``), and so is the start of a
    playback when ``record`` (``post.media_viewed``; later ranges of it are not)."""
    with uow.reading():
        who = viewer(uow, actor, admins=True)  # no one to audit: not signed in, or barred
        post = uow.posts.get(post_id)
        allowed = may_see(who, post, uow.clock.now()) and post.media_readable
    if not allowed:
        with uow:
            uow.record(PostAccessDenied(actor_id=who.account.id, post_id=post_id,
                                        reason="no_video" if post else "no_such_post"))
            uow.commit()
        raise NotFound("no such post")
    if record:
        with uow:
            uow.record(PostMediaViewed(actor_id=who.account.id, post_id=post.id))
            uow.commit()
    return OpenMedia(post, kit.footage.vault.open(post.wrapped_key,
                                                  context=key_context(post.id)))


def my_posts(uow: UnitOfWork, actor: Actor | None) -> list[Post]:
    with uow.reading():
        author = require_resident(actor)
        return [post for post in uow.posts.by_author(author.id) if not post.is_purged]
