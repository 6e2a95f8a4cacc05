"""The Neighbors feed on the real stack (SQLite, inline jobs, an injected clock): posting
text and clips through the media job (the real face redaction engine), preview and publish,
who sees what and where, pagination, categories, expiry and purge, comments, reports and
moderation, agencies' public-safety posts, and the media endpoint's headers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import select

from porchlight import bootstrap
from porchlight.config import Settings
from porchlight.feed.domain.moderation import Reason
from porchlight.feed.domain.posts import Category
from porchlight.feed.services import cells, posting, reading
from porchlight.feed.services import retention as feed_retention
from porchlight.footage.services import library
from porchlight.kernel.adapters.db import tables
from porchlight.kernel.domain.geo import LatLon, haversine_m
from porchlight.redaction.services.ports import RedactionFailed
from tests.conftest import skip_or_fail
from tests.e2e import support
from tests.e2e.support import Deployment, actor, add_camera_with_clips, one_clip

HOME_FAR = LatLon(45.60, -122.66)  # about 10 km north of resident A and B


class Recording:
    """The real redaction engine, noting each call the media job makes."""

    def __init__(self, engine) -> None:
        self.engine, self.calls = engine, []

    def redact(self, source, target, options, progress=None):
        self.calls.append(options)
        return self.engine.redact(source, target, options, progress)

    def snapshots(self, video, frames, width=480):
        return self.engine.snapshots(video, frames, width)


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    try:  # a clip post is blurred by default: the engine must be there
        bootstrap.build_redactor(Settings(env="test")).check()
    except RedactionFailed as exc:
        skip_or_fail(f"no face detector model: {exc}")
    return one_clip(tmp_path_factory, "feed")


@pytest.fixture
def d(settings: Settings) -> Deployment:
    recording = Recording(bootstrap.build_redactor(settings))
    deployment = support.verified_deployment(settings, redactor=recording)
    deployment.redactor = recording
    deployment.people["far"] = support._resident(deployment, "far", HOME_FAR)
    return deployment


def _text_post(d: Deployment, who: str = "resident_a", title: str = "Lost cat near Alder",
               category: str = "pet", **extra) -> UUID:
    browser = d.signed_in(who)
    sent = browser.submit("/feed/new", {"category": category, "title": title,
                                        "description": "Grey tabby, answers to Miso.",
                                        **extra})
    assert sent.status_code == 303, sent.text
    post_id = UUID(sent.headers["location"].rsplit("/", 1)[1])
    published = browser.submit(f"/feed/posts/{post_id}/publish")
    assert published.status_code == 303, published.text
    return post_id


def _clip(d: Deployment, clip_files: list[Path]) -> UUID:
    _, [clip_id] = add_camera_with_clips(d, "resident_a", support.HOME_A, clip_files,
                                         [timedelta(hours=1)])
    return clip_id


def settings_tmp(d: Deployment) -> Path:
    return d.container.settings.data_dir / "tmp" / "posts"


def _kinds(d: Deployment) -> list[str]:
    with d.container.engine.connect() as connection:
        return list(connection.scalars(select(tables.audit_events.c.kind)))


def test_a_text_post_is_shown_to_neighbours_at_its_cell_centre_and_never_named(
    d: Deployment
) -> None:
    post_id = _text_post(d)
    page = d.signed_in("resident_b").get("/feed")
    assert page.status_code == 200
    [item] = re.findall(r'<li class="feed-post.*?</li>', page.text, re.S)
    assert "Lost cat near Alder" in item and "a neighbour" in item
    assert "Resident A" not in page.text and "resident_a" not in page.text
    shown = cells.centre(cells.cell_of(support.HOME_A))
    assert f'data-lat="{shown.lat}"' in item and f'data-lon="{shown.lon}"' in item
    with d.container.engine.connect() as connection:
        row = connection.execute(select(tables.posts)).one()
    assert (row.lat, row.lon) == (shown.lat, shown.lon)
    assert (row.lat, row.lon) != (support.HOME_A.lat, support.HOME_A.lon)
    far = d.signed_in("far")
    assert post_id.hex not in far.get("/feed?radius_m=5000").text.replace("-", "")
    assert far.get(f"/feed/posts/{post_id}").status_code == 404
    own = d.signed_in("resident_a").get(f"/feed/posts/{post_id}")
    assert "</span> · you ·" in own.text  # the author alone is told it is theirs
    assert {"post.drafted", "post.published"} <= set(_kinds(d))


def test_a_draft_is_seen_by_its_author_only_until_published(d: Deployment) -> None:
    browser = d.signed_in("resident_a")
    sent = browser.submit("/feed/new", {"category": "community", "title": "Street party"})
    post_id = sent.headers["location"].rsplit("/", 1)[1]
    assert 'data-testid="publish"' in browser.get(f"/feed/posts/{post_id}").text
    neighbour = d.signed_in("resident_b")
    assert neighbour.get(f"/feed/posts/{post_id}").status_code == 404
    assert "Street party" not in neighbour.get("/feed").text
    browser.submit(f"/feed/posts/{post_id}/publish")
    assert "Street party" in neighbour.get("/feed").text
    again = browser.submit(f"/feed/posts/{post_id}/publish")
    assert again.status_code == 409


def test_a_bad_post_keeps_what_was_typed_and_shows_the_error_beside_the_field(
    d: Deployment
) -> None:
    browser = d.signed_in("resident_a")
    page = browser.get("/feed/new")
    assert 'data-testid="rules"' in page.text and "profiling" in page.text
    assert re.search(r'name="blur" value="true" checked', page.text)  # blur on by default
    sent = browser.submit("/feed/new", {"category": "crime", "title": "ab",
                                        "description": "Kept text"})
    assert sent.status_code == 422
    assert 'id="f-title-error"' in sent.text and "Kept text" in sent.text
    with d.container.engine.connect() as connection:
        assert connection.execute(select(tables.posts)).all() == []


def test_a_clip_post_is_a_blurred_trimmed_copy_made_by_the_job_and_previewed_first(
    d: Deployment, clip_files: list[Path]
) -> None:
    clip_id = _clip(d, clip_files)
    browser = d.signed_in("resident_a")
    sent = browser.submit("/feed/new", {"category": "suspicious", "title": "Van at night",
                                        "clip_id": str(clip_id), "start": "0.5", "end": "1.5",
                                        "blur": "true"})
    assert sent.status_code == 303, sent.text
    post_id = UUID(sent.headers["location"].rsplit("/", 1)[1])
    [options] = d.redactor.calls
    assert (options.start, options.end) == (0.5, 1.5)
    with d.container.uow() as uow:
        post = uow.posts.get(post_id)
        clip = uow.clips.get(clip_id)
    assert post.status.value == "draft" and post.redaction["detector"] == "centerface"
    assert post.source_clip_id == clip_id and post.source_sha256 == clip.sha256
    assert post.media_sha256 and post.media_sha256 != clip.sha256
    assert post.media_key.startswith("posts/") and post.media_key != clip.object_key
    kit = posting.FeedKit(d.container.footage, lambda: d.redactor, settings_tmp(d))
    posting.prepare_media(d.container.uow(), kit, post_id)  # the job again: nothing to do
    assert list(d.container.footage.store.keys("posts/")) == [post.media_key]
    assert len(d.redactor.calls) == 1
    preview = browser.get(f"/feed/posts/{post_id}")
    assert 'controlslist="nodownload' in preview.text and 'data-testid="publish"' in preview.text
    media = browser.get(f"/feed/posts/{post_id}/media")
    assert media.status_code == 200 and len(media.content) == post.media_size
    assert media.headers["content-disposition"] == "inline"
    assert "no-store" in media.headers["cache-control"]
    neighbour = d.signed_in("resident_b")
    assert neighbour.get(f"/feed/posts/{post_id}/media").status_code == 404
    browser.submit(f"/feed/posts/{post_id}/publish")
    seen = neighbour.get(f"/feed/posts/{post_id}/media", headers={"range": "bytes=0-9"})
    assert seen.status_code == 206 and seen.headers["content-disposition"] == "inline"
    assert d.signed_in("far").get(f"/feed/posts/{post_id}/media").status_code == 404
    assert d.browser().get(f"/api/v1/feed/posts/{post_id}").status_code == 401
    kinds = _kinds(d)
    assert "post.media_prepared" in kinds
    # the author's preview and the neighbour's first range start a playback each; the
    # unpublished and far-away asks are refusals
    assert kinds.count("post.media_viewed") == 2 and kinds.count("post.access_denied") == 2


def test_with_blurring_off_the_copy_is_a_plain_trim_and_without_the_model_blur_fails(
    d: Deployment, clip_files: list[Path], settings: Settings, tmp_path: Path
) -> None:
    clip_id = _clip(d, clip_files)
    resident = actor(d, "resident_a")
    post_id = posting.draft_post(d.container.uow(), resident, posting.DraftPost(
        Category.COMMUNITY, "Delivery drone", clip_id=clip_id, blur=False))
    with d.container.uow() as uow:
        post = uow.posts.get(post_id)
    assert post.status.value == "draft" and post.redaction is None and not d.redactor.calls

    (tmp_path / "not-the-model.onnx").write_bytes(b"not a face detector")
    bare = support.build_deployment(settings.model_copy(update={  # a server without the model
        "data_dir": tmp_path / "v2",
        "redaction": settings.redaction.model_copy(
            update={"model_path": tmp_path / "not-the-model.onnx"})}))
    _, [clip] = add_camera_with_clips(bare, "resident_a", support.HOME_A, clip_files,
                                      [timedelta(hours=1)])
    post_id = posting.draft_post(bare.container.uow(), actor(bare, "resident_a"),
                                 posting.DraftPost(Category.CRIME, "Parcel taken",
                                                   clip_id=clip, blur=True))
    page = bare.signed_in("resident_a").get(f"/feed/posts/{post_id}")
    assert 'data-testid="failed"' in page.text and "could not be blurred" in page.text
    with bare.container.uow() as uow:
        assert uow.posts.get(post_id).media_key is None
    assert list(bare.container.footage.store.keys("posts/")) == []


def test_others_see_only_the_day_a_clip_post_expires_not_the_clips_exact_expiry(
    d: Deployment, clip_files: list[Path]
) -> None:
    """A clip post's expiry follows its clip's to the second, which would give away when
    the clip was recorded: only the day (rounded up) is shown, in pages and the API."""
    clip_id = _clip(d, clip_files)
    resident = actor(d, "resident_a")
    d.clock.advance(timedelta(minutes=17, seconds=23))
    post_id = posting.draft_post(d.container.uow(), resident, posting.DraftPost(
        Category.CRIME, "Car break-in", clip_id=clip_id, blur=False))
    posting.publish(d.container.uow(), resident, post_id)
    with d.container.uow() as uow:
        post, clip = uow.posts.get(post_id), uow.clips.get(clip_id)
    assert post.expires_at == clip.expires_at  # precise, kept for purging
    day = (clip.expires_at + timedelta(days=1)).date().isoformat()
    assert clip.expires_at.time() != datetime.min.time()
    exact = [clip.expires_at.isoformat(), clip.expires_at.strftime("%H:%M"),
             clip.expires_at.isoformat().replace("+00:00", "Z")]
    for who in ("resident_b", "resident_a"):
        browser = d.signed_in(who)
        listed = browser.get("/api/v1/feed").json()["posts"][0]
        one = browser.get(f"/api/v1/feed/posts/{post_id}").json()["post"]
        assert listed["expires_on"] == one["expires_on"] == day
        assert "expires_at" not in listed and "expires_at" not in one
        page = browser.get(f"/feed/posts/{post_id}").text
        assert day in page
        for text in (page, browser.get("/feed").text, browser.get("/api/v1/feed").text):
            assert not any(e in text for e in exact)


def test_an_unblurred_post_never_shows_more_than_the_part_chosen(
    d: Deployment, clip_files: list[Path]
) -> None:
    """Without blurring the copy is a stream-copy trim from the keyframe before the start;
    the demo clip's only keyframe is at 0, so a part starting at 1 s cannot be cut that
    way: the job fails (``trim_inexact``) instead of publishing the first second too."""
    clip_id = _clip(d, clip_files)
    resident = actor(d, "resident_a")
    post_id = posting.draft_post(d.container.uow(), resident, posting.DraftPost(
        Category.COMMUNITY, "Fox on the lawn", clip_id=clip_id, start=1.0, end=1.8,
        blur=False))
    with d.container.uow() as uow:
        post = uow.posts.get(post_id)
    assert post.status.value == "failed" and post.failure == "trim_inexact"
    assert post.media_key is None and post.wrapped_key is None
    assert list(d.container.footage.store.keys("posts/")) == []
    assert "post.media_failed" in _kinds(d)
    page = d.signed_in("resident_a").get(f"/feed/posts/{post_id}")
    assert 'data-testid="failed"' in page.text and "blur faces" in page.text
    assert "keyframe" in page.text and 'data-testid="publish"' not in page.text
    assert d.signed_in("resident_a").submit(f"/feed/posts/{post_id}/publish").status_code == 409
    # from the keyframe, the cut is what was asked (its end the frame showing at 1.5 s)
    exact = posting.draft_post(d.container.uow(), resident, posting.DraftPost(
        Category.COMMUNITY, "Fox again", clip_id=clip_id, start=0.0, end=1.5, blur=False))
    with d.container.uow() as uow:
        assert uow.posts.get(exact).status.value == "draft"


@pytest.mark.parametrize("blur", [True, False])
def test_the_draft_page_updates_itself_while_the_video_is_prepared(
    d: Deployment, clip_files: list[Path], monkeypatch: pytest.MonkeyPatch, blur: bool
) -> None:
    clip_id = _clip(d, clip_files)
    monkeypatch.setattr(posting, "prepare_media", lambda *args, **kwargs: None)  # not run yet
    post_id = posting.draft_post(d.container.uow(), actor(d, "resident_a"), posting.DraftPost(
        Category.COMMUNITY, "Deer at dawn", clip_id=clip_id, blur=blur))
    browser = d.signed_in("resident_a")
    page = browser.get(f"/feed/posts/{post_id}").text
    head = page.split("</head>")[0]
    assert '<meta http-equiv="refresh" content="3">' in head
    facts = re.search(r'data-testid="video-facts">(.*?)</dd>', page, re.S).group(1)
    assert "being prepared" in facts
    draft = re.search(r'data-testid="draft">(.*?)</div>', page, re.S).group(1)
    if blur:
        assert "faces to be blurred" in facts and "not blurred" not in page
        assert "with faces blurred" in draft
    else:
        assert "not to be blurred" in facts and "without blurring" in draft
        assert "faces blurred" not in draft
    monkeypatch.undo()
    posting.prepare_media(d.container.uow(), posting.FeedKit(
        d.container.footage, lambda: d.redactor, settings_tmp(d)), post_id)
    ready = browser.get(f"/feed/posts/{post_id}").text
    assert 'http-equiv="refresh"' not in ready and 'data-testid="publish"' in ready


def test_the_feed_pages_by_cursor_newest_first_and_filters_by_category(d: Deployment) -> None:
    resident = actor(d, "resident_a")
    made = []
    for i in range(23):
        category = Category.PET if i % 2 else Category.COMMUNITY
        post_id = posting.draft_post(d.container.uow(), resident,
                                     posting.DraftPost(category, f"Post number {i:02d}"))
        posting.publish(d.container.uow(), resident, post_id)
        made.append(post_id)
        d.clock.advance(timedelta(minutes=1))
    api = d.signed_in("resident_b")
    first = api.get("/api/v1/feed").json()
    assert [p["title"] for p in first["posts"]] == [f"Post number {i:02d}"
                                                    for i in range(22, 2, -1)]
    assert all(p["author"] == "a neighbour" and not p["mine"] for p in first["posts"])
    second = api.get("/api/v1/feed", params={"cursor": first["next_cursor"]}).json()
    assert [p["title"] for p in second["posts"]] == ["Post number 02", "Post number 01",
                                                     "Post number 00"]
    assert second["next_cursor"] is None
    pets = api.get("/api/v1/feed", params={"category": "pet"}).json()["posts"]
    assert len(pets) == 11 and {p["category"] for p in pets} == {"pet"}
    page = api.get("/feed")
    more = re.search(r'data-testid="load-more" href="([^"]+)"', page.text).group(1)
    older = api.get(more.replace("&amp;", "&"))
    assert "Post number 00" in older.text and "Post number 22" not in older.text
    assert api.get("/api/v1/feed", params={"cursor": "nonsense"}).status_code == 422


def test_only_posts_within_the_radius_are_in_the_feed(d: Deployment) -> None:
    """A post from 3 km away is in a 5 km feed, not in a 1 km one; the far resident (10 km)
    sees nothing at any radius."""
    support._resident(d, "across_town", LatLon(45.5392, -122.6587))  # 3 km north of A
    d.people["across_town"] = support.Person("across_town", _id(d, "across_town"),
                                             "across_town@example.org")
    _text_post(d, "across_town", "Across town")
    neighbour = d.signed_in("resident_a")
    assert "Across town" not in neighbour.get("/feed?radius_m=1000").text
    assert "Across town" in neighbour.get("/feed?radius_m=5000").text
    assert "Across town" in neighbour.get("/feed").text  # the choice is remembered
    assert "Across town" not in d.signed_in("far").get("/feed?radius_m=5000").text
    assert neighbour.get("/feed?radius_m=9000").status_code == 422


@pytest.mark.parametrize("cookie", ["9" * 5000, "0" * 4000 + "1000", "1e3", "-1000",
                                    "1000x", "99999", ""])
def test_a_bad_remembered_radius_is_ignored(d: Deployment, cookie: str) -> None:
    browser = d.signed_in("resident_a")
    browser.cookies.set("pl_feed_radius", cookie)
    page = browser.get("/feed")
    assert page.status_code == 200
    assert re.search(r'<option value="1000" selected', page.text)  # the default, 1 km


def _id(d: Deployment, key: str) -> UUID:
    with d.container.uow() as uow:
        return uow.accounts.get_by_email(f"{key}@example.org").id


def test_posts_expire_with_the_clip_and_are_purged_by_shredding_then_deleting(
    d: Deployment, clip_files: list[Path]
) -> None:
    clip_id = _clip(d, clip_files)
    resident = actor(d, "resident_a")
    with d.container.uow() as uow:
        clip = uow.clips.get(clip_id)
    post_id = posting.draft_post(d.container.uow(), resident, posting.DraftPost(
        Category.CRIME, "Car break-in", clip_id=clip_id, blur=True))
    posting.publish(d.container.uow(), resident, post_id)
    text_id = posting.draft_post(d.container.uow(), resident, posting.DraftPost(
        Category.COMMUNITY, "Yard sale", expires_in_days=7))
    posting.publish(d.container.uow(), resident, text_id)
    with d.container.uow() as uow:
        post, text = uow.posts.get(post_id), uow.posts.get(text_id)
    assert post.expires_at <= clip.expires_at  # the camera's 60 days, counted from the clip
    assert text.expires_at == d.clock.now() + timedelta(days=7)
    store = d.container.footage.store
    assert store.exists(post.media_key)

    d.clock.advance(timedelta(days=7, seconds=1))
    assert feed_retention.expire_due(d.container.uow()) == 1  # the text post
    assert "Yard sale" not in d.signed_in("resident_b").get("/feed").text
    d.clock.advance(clip.expires_at - d.clock.now())
    assert feed_retention.expire_due(d.container.uow()) == 1
    assert feed_retention.expire_due(d.container.uow()) == 0  # idempotent
    with d.container.uow() as uow:
        gone = uow.posts.get(post_id)
    assert gone.purged_at is not None and gone.wrapped_key is None and gone.title == ""
    assert not store.exists(post.media_key)
    feed_retention.finish_purge(d.container.uow(), store, post_id)  # again: harmless
    assert d.signed_in("resident_a").get(f"/feed/posts/{post_id}").status_code == 404
    kinds = _kinds(d)
    assert kinds.count("post.key_shredded") == 1 and kinds.count("post.purged") == 2


def test_deleting_the_source_clip_takes_the_posts_video_with_it(
    d: Deployment, clip_files: list[Path]
) -> None:
    clip_id = _clip(d, clip_files)
    resident = actor(d, "resident_a")
    post_id = posting.draft_post(d.container.uow(), resident, posting.DraftPost(
        Category.CRIME, "Package thief", clip_id=clip_id, blur=True))
    posting.publish(d.container.uow(), resident, post_id)
    with d.container.uow() as uow:
        key = uow.posts.get(post_id).media_key
    library.delete_my_clip(d.container.uow(), d.container.footage, resident, clip_id)
    with d.container.uow() as uow:
        post = uow.posts.get(post_id)
    assert post.wrapped_key is None and post.media_key is None and post.title
    assert not d.container.footage.store.exists(key)
    page = d.signed_in("resident_b").get(f"/feed/posts/{post_id}")
    assert page.status_code == 200 and "The video is gone" in page.text
    assert d.signed_in("resident_b").get(f"/feed/posts/{post_id}/media").status_code == 404


@pytest.mark.parametrize("how", ["deleted", "shredded"])
def test_a_clip_deleted_while_its_posts_video_is_made_leaves_no_copy(
    d: Deployment, clip_files: list[Path], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The clip goes between the copy being made and it being recorded: the post fails
    (``source_gone``) and the copy is deleted. "deleted": by its owner, whose
    ``feed.clip_gone`` job fails the post still being prepared; "shredded": its key gone
    without that job, which the recording step itself notices."""
    clip_id = _clip(d, clip_files)
    resident = actor(d, "resident_a")
    derive = posting._derive

    def clip_goes_meanwhile(*args, **kwargs):
        made = derive(*args, **kwargs)
        if how == "deleted":
            library.delete_my_clip(d.container.uow(), d.container.footage, resident, clip_id)
        else:
            with d.container.uow() as uow:
                uow.clips.get(clip_id).wrapped_key = None
                uow.commit()
        return made

    monkeypatch.setattr(posting, "_derive", clip_goes_meanwhile)
    post_id = posting.draft_post(d.container.uow(), resident, posting.DraftPost(
        Category.CRIME, "Package thief", clip_id=clip_id, blur=False))
    with d.container.uow() as uow:
        post = uow.posts.get(post_id)
    assert post.status.value == "failed" and post.failure == "source_gone"
    assert post.media_key is None and post.wrapped_key is None and post.media_sha256 is None
    assert list(d.container.footage.store.keys("posts/")) == []
    assert "post.media_prepared" not in _kinds(d)
    page = d.signed_in("resident_a").get(f"/feed/posts/{post_id}")
    assert 'data-testid="failed"' in page.text and 'data-testid="player"' not in page.text


def test_comments_reports_and_moderation_remove_with_a_reason_then_restore(
    d: Deployment
) -> None:
    post_id = _text_post(d, title="Someone suspicious on Elm")
    neighbour = d.signed_in("resident_b")
    said = neighbour.submit(f"/feed/posts/{post_id}/comments", {"body": "I saw him too"})
    assert said.status_code == 303
    assert "I saw him too" in d.signed_in("resident_a").get(f"/feed/posts/{post_id}").text
    empty = neighbour.submit(f"/feed/posts/{post_id}/comments", {"body": ""})
    assert empty.status_code == 422 and 'id="f-body-error"' in empty.text
    reported = neighbour.submit(f"/feed/posts/{post_id}/report",
                                {"reason": "profiling", "note": "describes his looks"})
    assert reported.status_code == 303  # post, redirect, get: a reload sends nothing again
    assert reported.headers["location"] == f"/feed/posts/{post_id}?reported=1"
    shown = neighbour.get(reported.headers["location"]).text
    notice = shown.index('data-testid="reported"')
    assert 'role="status"' in shown[notice - 80:notice]
    assert shown.index("<h1>") < notice < shown.index('id="comments"')  # near the top
    assert 'data-testid="reported"' not in neighbour.get(f"/feed/posts/{post_id}").text
    neighbour.submit(f"/feed/posts/{post_id}/report", {"reason": "profiling"})  # same one
    admin = d.signed_in("platform_admin")
    queue = admin.get("/admin/moderation")
    [item] = re.findall(r'data-testid="queue-item".*?</li>', queue.text, re.S)
    assert "Someone suspicious on Elm" in item and "1 report:" in item
    no_note = admin.submit(f"/admin/moderation/posts/{post_id}/remove", {"reason": "profiling"})
    assert no_note.status_code == 422 and f'id="m-{post_id}-note-error"' in no_note.text
    removed = admin.submit(f"/admin/moderation/posts/{post_id}/remove",
                           {"reason": "profiling", "note": "Describes a person's race."})
    assert removed.status_code == 303
    assert neighbour.get(f"/feed/posts/{post_id}").status_code == 404
    assert "Someone suspicious" not in neighbour.get("/feed").text
    own = d.signed_in("resident_a").get(f"/feed/posts/{post_id}")
    assert 'data-testid="removed"' in own.text and "Describes a person&#39;s race." in own.text
    assert "No open reports" in admin.get("/admin/moderation").text
    assert admin.submit(f"/admin/moderation/posts/{post_id}/restore").status_code == 303
    assert "Someone suspicious" in neighbour.get("/feed").text
    with d.container.engine.connect() as connection:
        rows = connection.execute(select(tables.audit_events.c.kind, tables.audit_events
                                         .c.payload)).all()
    [payload] = [p for k, p in rows if k == "post.removed"]
    assert payload["reason"] == "profiling" and "race" not in str(rows)
    assert {"post.reported", "comment.posted", "post.restored"} <= {k for k, _ in rows}


def test_moderators_cannot_remove_or_restore_a_post_never_published(d: Deployment) -> None:
    browser = d.signed_in("resident_a")
    sent = browser.submit("/feed/new", {"category": "community", "title": "Draft only"})
    post_id = UUID(sent.headers["location"].rsplit("/", 1)[1])
    admin = d.signed_in("platform_admin")
    before = _kinds(d)
    ah = {"x-csrf-token": admin.csrf()}
    assert admin.submit(f"/admin/moderation/posts/{post_id}/remove",
                        {"reason": "spam", "note": "Advertising here."}).status_code == 404
    assert admin.post(f"/api/v1/feed/posts/{post_id}/remove", headers=ah,
                      json={"reason": "spam", "note": "Advertising."}).status_code == 404
    assert admin.submit(f"/admin/moderation/posts/{post_id}/restore").status_code == 404
    assert admin.post(f"/api/v1/feed/posts/{post_id}/restore", headers=ah).status_code == 404
    with d.container.uow() as uow:
        post = uow.posts.get(post_id)
    assert post.removed_at is None and post.removed_reason is None
    assert post.status.value == "draft"
    assert _kinds(d) == before
    assert 'data-testid="publish"' in browser.get(f"/feed/posts/{post_id}").text


def test_the_author_finds_their_drafts_and_removed_posts_again_on_your_posts(
    d: Deployment
) -> None:
    author = d.signed_in("resident_a")
    draft = author.submit("/feed/new", {"category": "community", "title": "Half written"})
    draft_id = draft.headers["location"].rsplit("/", 1)[1]
    removed_id = _text_post(d, title="Loud party on Birch")
    kept_id = _text_post(d, title="Nice sunset")
    d.signed_in("platform_admin").submit(f"/admin/moderation/posts/{removed_id}/remove",
                                         {"reason": "personal_data",
                                          "note": "Names a neighbour's address."})
    assert 'href="/feed/mine"' in author.get("/feed").text
    page = author.get("/feed/mine")
    assert page.status_code == 200
    items = {m.group(1): m.group(0) for m in re.finditer(
        r'<li class="feed-post".*?href="/feed/posts/([0-9a-f-]+)".*?</li>', page.text, re.S)}
    assert set(items) == {draft_id, str(removed_id), str(kept_id)}
    assert "Half written" in items[draft_id] and 'data-state="draft"' in items[draft_id]
    assert 'data-state="removed"' in items[str(removed_id)]
    assert "Personal data" in items[str(removed_id)]
    assert "Names a neighbour&#39;s address." in items[str(removed_id)]
    assert 'data-state="published"' in items[str(kept_id)]
    other = d.signed_in("resident_b").get("/feed/mine")
    assert other.status_code == 200
    assert "Half written" not in other.text and "Loud party" not in other.text
    assert "Nice sunset" not in other.text and 'data-testid="my-post"' not in other.text


def test_the_moderation_queue_has_one_labelled_field_per_item_with_the_reported_rule(
    d: Deployment
) -> None:
    first = _text_post(d, title="Someone on Elm")
    second = _text_post(d, title="Buy my stuff")
    neighbour = d.signed_in("resident_b")
    neighbour.submit(f"/feed/posts/{first}/report", {"reason": "profiling"})
    neighbour.submit(f"/feed/posts/{second}/report", {"reason": "spam"})
    page = d.signed_in("platform_admin").get("/admin/moderation").text
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    labels = re.findall(r'<label for="([^"]+)"', page)
    assert len(labels) == 4 and set(labels) <= set(ids)
    for post_id, reason in ((first, "profiling"), (second, "spam")):
        select_html = re.search(rf'<select id="m-{post_id}-reason".*?</select>', page, re.S)
        [chosen] = re.findall(r'<option value="(\w+)" selected', select_html.group(0))
        assert chosen == reason
        assert f'<label for="m-{post_id}-note">' in page and f'id="m-{post_id}-note"' in page


def test_a_comment_is_removed_and_its_author_sees_why(d: Deployment) -> None:
    post_id = _text_post(d)
    d.signed_in("resident_b").submit(f"/feed/posts/{post_id}/comments",
                                     {"body": "Call 555-0199, that's Bob's cat"})
    with d.container.uow() as uow:
        [comment] = uow.comments.for_post(post_id)
    admin = d.signed_in("platform_admin")
    admin.submit(f"/admin/moderation/comments/{comment.id}/remove",
                 {"reason": "personal_data", "note": "No phone numbers, please."})
    assert "555-0199" not in d.signed_in("resident_a").get(f"/feed/posts/{post_id}").text
    theirs = d.signed_in("resident_b").get(f"/feed/posts/{post_id}").text
    assert "No phone numbers, please." in theirs and "personal data" in theirs
    admin.submit(f"/admin/moderation/comments/{comment.id}/restore")
    assert "555-0199" in d.signed_in("resident_a").get(f"/feed/posts/{post_id}").text


def test_an_agency_posts_public_safety_notices_and_sees_only_what_residents_see(
    d: Deployment
) -> None:
    supervisor = d.signed_in("supervisor_x")
    form = supervisor.get("/agency/feed")
    assert form.status_code == 200
    sent = supervisor.submit("/agency/feed", {
        "category": "safety", "title": "Gas leak on Alder St", "description": "Avoid the area.",
        "lat": str(support.HOME_A.lat), "lon": str(support.HOME_A.lon), "radius_m": "1500"})
    assert sent.status_code == 303, sent.text
    _text_post(d, title="Resident's own post")
    page = d.signed_in("resident_b").get("/feed")
    [notice] = [i for i in re.findall(r'<li class="feed-post.*?</li>', page.text, re.S)
                if "Gas leak" in i]
    assert 'data-testid="public-safety"' in notice and "Agency X Police" in notice
    assert "Gas leak" not in d.signed_in("far").get("/feed?radius_m=5000").text
    officer = d.signed_in("officer_x")
    assert officer.submit("/agency/feed", {"category": "safety", "title": "No",
                                           "lat": "45.5", "lon": "-122.6",
                                           "radius_m": "1000"}).status_code == 403
    seen = officer.get("/api/v1/feed").json()["posts"]
    mine = [p for p in seen if p["title"] == "Resident's own post"]
    assert mine and mine[0]["author"] == "a neighbour" and "author_id" not in mine[0]
    post_page = officer.get(f"/feed/posts/{mine[0]['id']}")
    assert "Resident A" not in post_page.text and "/requests/new" not in post_page.text
    assert "Add a comment" not in post_page.text
    kinds = _kinds(d)
    assert "post.public_safety_published" in kinds


def test_the_agency_takes_down_its_own_public_safety_post(d: Deployment) -> None:
    """Any supervisor of the posting agency may; its officers, other agencies and
    residents may not; it goes from every feed at once."""
    supervisor = d.signed_in("supervisor_x")
    sent = supervisor.submit("/agency/feed", {
        "category": "safety", "title": "Gas leak on Alder St", "description": "Avoid it.",
        "lat": str(support.HOME_A.lat), "lon": str(support.HOME_A.lon), "radius_m": "1500"})
    post_id = sent.headers["location"].rsplit("/", 1)[1]
    own_page = supervisor.get(f"/feed/posts/{post_id}").text
    assert f'action="/feed/posts/{post_id}/withdraw"' in own_page
    for who, status in (("officer_x", 403), ("officer_y", 403), ("resident_b", 404)):
        caller = d.signed_in(who)
        assert f'/feed/posts/{post_id}/withdraw"' not in caller.get(
            f"/feed/posts/{post_id}").text
        assert caller.submit(f"/feed/posts/{post_id}/withdraw").status_code == status, who
    assert "Gas leak" in d.signed_in("resident_b").get("/feed").text
    done = d.signed_in("admin_x").submit(f"/feed/posts/{post_id}/withdraw")
    assert done.status_code == 303
    assert "Gas leak" not in d.signed_in("resident_b").get("/feed").text
    assert d.signed_in("resident_b").get(f"/feed/posts/{post_id}").status_code == 404
    assert "post.withdrawn" in _kinds(d)


@pytest.mark.parametrize(("who", "status"), [
    (None, 401), ("platform_admin", 403), ("disabled", 401)])
def test_the_feed_is_for_residents_and_agency_staff(d: Deployment, who: str | None,
                                                    status: int) -> None:
    if who == "disabled":
        support.disable(d, "disabled")
        caller = d.browser()  # a disabled account cannot sign in at all
    else:
        caller = d.signed_in(who) if who else d.browser()
    assert caller.get("/api/v1/feed").status_code == status
    assert caller.post("/api/v1/feed/posts", json={"category": "pet", "title": "Cat"},
                       headers={"x-csrf-token": caller.csrf()}).status_code in (401, 403)


def test_the_api_posts_publishes_comments_and_reports(d: Deployment) -> None:
    author = d.signed_in("resident_a")
    headers = {"x-csrf-token": author.csrf()}
    made = author.post("/api/v1/feed/posts", headers=headers, json={
        "category": "pet", "title": "Found: small dog", "description": "Brown, no collar."})
    assert made.status_code == 201, made.text
    body = made.json()["post"]
    assert body["status"] == "draft" and body["mine"] and body["author"] == "you"
    assert haversine_m(LatLon(*body["location"]), support.HOME_A) <= cells.REACH_M
    post_id = body["id"]
    assert author.post(f"/api/v1/feed/posts/{post_id}/publish",
                       headers=headers).json()["post"]["status"] == "published"
    neighbour = d.signed_in("resident_b")
    nh = {"x-csrf-token": neighbour.csrf()}
    assert neighbour.post(f"/api/v1/feed/posts/{post_id}/comments", headers=nh,
                          json={"body": "Is it a terrier?"}).status_code == 201
    assert neighbour.post(f"/api/v1/feed/posts/{post_id}/reports", headers=nh,
                          json={"reason": "spam"}).status_code == 201
    detail = neighbour.get(f"/api/v1/feed/posts/{post_id}").json()
    assert detail["post"]["author"] == "a neighbour" and detail["comments"][0]["mine"]
    admin = d.signed_in("platform_admin")
    ah = {"x-csrf-token": admin.csrf()}
    removed = admin.post(f"/api/v1/feed/posts/{post_id}/remove", headers=ah,
                         json={"reason": "spam", "note": "Advertising."})
    assert removed.status_code == 200
    assert author.get(f"/api/v1/feed/posts/{post_id}").json()["post"]["removed_reason"] == "spam"
    assert neighbour.get(f"/api/v1/feed/posts/{post_id}").status_code == 404
    assert neighbour.post(f"/api/v1/feed/posts/{post_id}/restore", headers=nh).status_code == 403
    assert admin.post(f"/api/v1/feed/posts/{post_id}/restore", headers=ah).status_code == 200


def test_a_withdrawn_post_loses_its_words_and_its_video(
    d: Deployment, clip_files: list[Path]
) -> None:
    clip_id = _clip(d, clip_files)
    resident = actor(d, "resident_a")
    post_id = posting.draft_post(d.container.uow(), resident, posting.DraftPost(
        Category.CRIME, "Bike stolen", clip_id=clip_id, blur=True))
    with d.container.uow() as uow:
        key = uow.posts.get(post_id).media_key
    sent = d.signed_in("resident_a").submit(f"/feed/posts/{post_id}/withdraw")
    assert sent.status_code == 303
    with d.container.uow() as uow:
        post = uow.posts.get(post_id)
    assert post.purged_at and post.title == "" and post.wrapped_key is None
    assert not d.container.footage.store.exists(key)
    assert reading.my_posts(d.container.uow(), resident) == []
    assert Reason.FACES.label  # the rules' vocabulary is there for the forms


def test_a_copy_left_by_a_job_killed_before_its_commit_is_swept_as_an_orphan(
    d: Deployment, tmp_path: Path
) -> None:
    from porchlight.footage.services import retention as footage_retention

    store = d.container.footage.store
    stray = tmp_path / "stray"
    stray.write_bytes(b"not a committed post")
    with store.seal("posts/20261101T000000-0000-stray.video", stray, b"k" * 32) as staged:
        staged.publish()
    removed = footage_retention.sweep_orphans(d.container.uow(), store, d.clock.now())
    assert removed == 1 and list(store.keys("posts/")) == []
