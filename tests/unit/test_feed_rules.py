"""The feed's rules without a database: where a post is shown (the cell snap), how long it
lives, and the moderation state machine."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import h3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from porchlight.feed.domain.moderation import Comment, Reason, Report, Resolution
from porchlight.feed.domain.posts import (
    Category,
    ClipChoice,
    Post,
    PostStatus,
    check_radius,
    check_trim,
    coarse_expiry,
    expiry,
)
from porchlight.feed.services import cells
from porchlight.kernel.domain.errors import Conflict, ValidationFailed
from porchlight.kernel.domain.geo import LatLon, haversine_m

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
points = st.builds(LatLon, st.floats(-80, 80), st.floats(-179.9, 179.9))


@settings(max_examples=300, deadline=None)
@given(points)
def test_the_shown_point_is_the_cell_centre_and_within_the_snap_of_the_home(home: LatLon
                                                                          ) -> None:
    place = cells.snap(home)
    assert (place.lat, place.lon) == h3.cell_to_latlng(h3.latlng_to_cell(home.lat, home.lon, 8))
    assert haversine_m(home, LatLon(place.lat, place.lon)) <= cells.REACH_M


def test_every_home_of_a_cell_is_shown_at_the_same_point() -> None:
    """The shown point says nothing finer than the cell: homes spread over one cell all map
    to one point, so it never lies closer to a home than the snap makes it."""
    rng = random.Random(7)
    for _ in range(50):
        cell = h3.latlng_to_cell(rng.uniform(-60, 60), rng.uniform(-179, 179), 8)
        boundary = h3.cell_to_boundary(cell)
        homes = [LatLon(*h3.cell_to_latlng(h3.cell_to_children(cell, 12)[i]))
                 for i in range(0, 343, 37)] + [LatLon(*corner) for corner in boundary[:2]]
        homes = [home for home in homes if h3.latlng_to_cell(home.lat, home.lon, 8) == cell]
        shown = {(cells.snap(home).lat, cells.snap(home).lon) for home in homes}
        assert len(shown) == 1
        [point] = shown
        distances = [haversine_m(home, LatLon(*point)) for home in homes]
        assert max(distances) > 100  # homes across the cell, not bunched at its centre


@pytest.mark.parametrize("radius", [500, 1000, 2500, 5000])
def test_a_feed_covers_every_cell_a_post_within_the_radius_can_be_shown_in(radius: int) -> None:
    rng = random.Random(radius)
    home = LatLon(45.5122, -122.6587)
    covered = set(cells.feed_cells(home, radius))
    for _ in range(400):
        bearing, distance = rng.uniform(0, 2 * math.pi), radius * math.sqrt(rng.random())
        author = LatLon(home.lat + distance * math.cos(bearing) / 111_195,
                        home.lon + distance * math.sin(bearing)
                        / (111_195 * math.cos(math.radians(home.lat))))
        if haversine_m(home, author) <= radius:
            assert cells.snap(author).cell in covered
    assert all(haversine_m(home, cells.centre(c)) <= radius + cells.REACH_M for c in covered)


def test_the_radius_is_half_a_kilometre_to_five() -> None:
    assert check_radius(500) == 500 and check_radius(5000) == 5000
    for bad in (499, 5001):
        with pytest.raises(ValidationFailed):
            check_radius(bad)


def test_the_shown_expiry_is_the_day_rounded_up_never_earlier_than_the_truth() -> None:
    assert coarse_expiry(datetime(2026, 12, 5, 14, 3, 27, tzinfo=UTC)).isoformat() == "2026-12-06"
    assert coarse_expiry(datetime(2026, 12, 5, 0, 0, 0, 1, tzinfo=UTC)).isoformat() == "2026-12-06"
    assert coarse_expiry(datetime(2026, 12, 5, tzinfo=UTC)).isoformat() == "2026-12-05"
    local = datetime(2026, 12, 5, 23, 30, tzinfo=UTC).astimezone(
        timezone(timedelta(hours=-8)))  # 15:30 on the 5th, UTC-8
    assert coarse_expiry(local).isoformat() == "2026-12-06"
    for minutes in range(0, 3 * 24 * 60, 37):
        moment = NOW + timedelta(minutes=minutes, seconds=minutes % 60)
        day = coarse_expiry(moment)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        assert moment <= start < moment + timedelta(days=1)


def test_a_post_expires_at_the_soonest_of_the_choice_the_camera_and_the_clip() -> None:
    assert expiry(NOW, chosen_days=None) == NOW + timedelta(days=60)  # text: 60 days
    assert expiry(NOW, chosen_days=7) == NOW + timedelta(days=7)
    assert expiry(NOW, chosen_days=180, camera_days=30) == NOW + timedelta(days=30)
    clip_ends = NOW + timedelta(days=12)
    assert expiry(NOW, chosen_days=None, camera_days=60, clip_expires_at=clip_ends) == clip_ends
    assert expiry(NOW, chosen_days=1, camera_days=60,
                  clip_expires_at=clip_ends) == NOW + timedelta(days=1)
    with pytest.raises(ValidationFailed):
        expiry(NOW, chosen_days=3)  # not one of the choices
    with pytest.raises(ValidationFailed):
        expiry(NOW, chosen_days=None, clip_expires_at=NOW)


def test_a_trim_stays_inside_the_clip_and_under_two_minutes() -> None:
    assert check_trim(None, None, 30.0) == (0.0, 30.0)
    assert check_trim(2, 500, 30.0) == (2.0, 30.0)
    for start, end, length in ((5, 5, 30.0), (31, None, 30.0), (0, 200, 300.0)):
        with pytest.raises(ValidationFailed):
            check_trim(start, end, length)


def _post(**changes) -> Post:
    author = uuid4()
    post = Post.draft(post_id=uuid4(), author_id=author, category=Category.PET,
                      title="Lost cat", description="", place=cells.snap(LatLon(45.5, -122.6)),
                      now=NOW, expires_at=NOW + timedelta(days=60), **changes)
    post.pull_events()
    return post


def test_a_clip_post_is_published_only_once_its_media_is_ready() -> None:
    post = _post(clip=ClipChoice(uuid4(), "a" * 64, 0.0, 2.0, blur=True))
    assert post.status is PostStatus.PREPARING
    with pytest.raises(Conflict):
        post.publish(actor_id=post.author_id, now=NOW)
    post.media_ready(key="posts/x", wrapped_key=b"k", sha256="b" * 64, size=10,
                     container="mp4", redaction={"detector": "d"})
    with pytest.raises(Conflict):
        post.publish(actor_id=uuid4(), now=NOW)  # not the author
    post.publish(actor_id=post.author_id, now=NOW)
    assert post.is_visible(NOW) and not post.is_visible(post.expires_at)
    assert [e.kind for e in post.pull_events()] == ["post.media_prepared", "post.published"]


def test_shredding_then_deleting_purges_a_post_once() -> None:
    post = _post(clip=ClipChoice(uuid4(), "a" * 64, 0.0, 2.0, blur=False))
    post.media_ready(key="posts/x", wrapped_key=b"k", sha256="b" * 64, size=10,
                     container="mp4", redaction=None)
    post.pull_events()
    post.purge_text(now=NOW, reason="retention", actor_id=None)
    assert post.wrapped_key is None and post.title == "" and post.purged_at is None
    post.media_deleted(now=NOW, actor_id=None)
    post.media_deleted(now=NOW, actor_id=None)
    assert post.purged_at == NOW and post.media_key is None
    assert [e.kind for e in post.pull_events()] == ["post.key_shredded", "post.purged"]


def test_moderation_removes_with_a_reason_and_restores() -> None:
    post, admin = _post(), uuid4()
    with pytest.raises(ValidationFailed):
        post.remove(admin_id=admin, reason=Reason.SPAM, note="", now=NOW)  # say why
    post.remove(admin_id=admin, reason=Reason.FACES, note="Shows a face up close.", now=NOW)
    assert post.removed_reason == "faces" and post.removed_note == "Shows a face up close."
    with pytest.raises(Conflict):
        post.remove(admin_id=admin, reason=Reason.SPAM, note="again please", now=NOW)
    post.restore(admin_id=admin)
    assert post.removed_at is None and post.removed_note is None
    with pytest.raises(Conflict):
        post.restore(admin_id=admin)
    kinds = [e.kind for e in post.pull_events()]
    assert kinds == ["post.removed", "post.restored"]
    comment = Comment.write(comment_id=uuid4(), post_id=post.id, author_id=uuid4(),
                            body="hello", now=NOW)
    comment.remove(admin_id=admin, reason=Reason.HARASSMENT, note="Not kind at all.", now=NOW)
    [_, removed] = comment.pull_events()
    assert removed.comment_id == comment.id and removed.post_id == post.id
    with pytest.raises(ValidationFailed):
        Comment.write(comment_id=uuid4(), post_id=post.id, author_id=uuid4(), body="  ",
                      now=NOW)


def test_a_report_is_resolved_once() -> None:
    report = Report.file(report_id=uuid4(), post_id=uuid4(), comment_id=None,
                         reporter_id=uuid4(), reason=Reason.PROFILING, note="", now=NOW)
    report.resolve(admin_id=None, resolution=Resolution.DISMISSED, now=NOW)
    report.resolve(admin_id=None, resolution=Resolution.REMOVED, now=NOW)
    assert report.resolution is Resolution.DISMISSED and not report.is_open
    assert [e.kind for e in report.pull_events()] == ["post.reported", "post.report_dismissed"]


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_control_and_bidi_characters_are_stripped_from_everything_written() -> None:
    from porchlight.feed.domain.moderation import clean_note, strip_controls
    from porchlight.feed.domain.posts import clean_description, clean_title

    assert clean_title(f"Lost\x00 cat\x1b[31m\t{BIDI}near\nAlder\x7f") == "Lost cat[31m near Alder"
    assert clean_title("\u202egpj.exe cat") == "gpj.exe cat"
    assert clean_description(f"Line one\r\n\tLine two\x00{BIDI}\x07\x85") == ("Line one\n"
                                                                              "\tLine two")
    comment = Comment.write(comment_id=uuid4(), post_id=uuid4(), author_id=uuid4(),
                            body="\u2066Seen\u2069 at 9\x00\r\nok", now=NOW)
    assert comment.body == "Seen at 9\nok"
    assert clean_note(f"Spam\u202e moc.elpmaxe\x08\n{BIDI}") == "Spam moc.elpmaxe"
    report = Report.file(report_id=uuid4(), post_id=uuid4(), comment_id=None,
                         reporter_id=uuid4(), reason=Reason.SPAM, note="a\x00\u202eb", now=NOW)
    assert report.note == "ab"
    assert strip_controls("a\tb\nc", multiline=False) == "abc"
    with pytest.raises(ValidationFailed):  # nothing left once cleaned
        Comment.write(comment_id=uuid4(), post_id=uuid4(), author_id=uuid4(),
                      body=f"\x00{BIDI}", now=NOW)
    with pytest.raises(ValidationFailed):
        clean_title(f"a{BIDI}\x00\x01b")
