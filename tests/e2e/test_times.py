"""Times on pages are in the viewer's own time zone, in words, with the exact instant kept."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from porchlight.config import Settings
from porchlight.entrypoints.web.when import in_words
from porchlight.footage.adapters.video.demo import make_demo_clip
from tests.e2e.support import HOME_A, Deployment, add_camera_with_clips, build_deployment


def test_in_words_names_the_day_the_month_and_the_zone() -> None:
    moment = datetime(2026, 11, 2, 6, 30, tzinfo=UTC)
    assert in_words(moment, ZoneInfo("America/Los_Angeles")) == (
        "Sunday 1 November 2026, 22:30 PST")
    assert in_words(moment, ZoneInfo("Europe/Berlin"), "short") == "Mon 2 Nov 2026, 07:30 CET"
    assert in_words(moment, ZoneInfo("UTC"), "date") == "2 November 2026"


@pytest.fixture
def d(settings: Settings, tmp_path: Path) -> Deployment:
    deployment = build_deployment(settings)
    clip = make_demo_clip(tmp_path / "c.mp4", seconds=1, width=160, height=96, seed=3)
    # T0 is 2026-11-02 09:00 UTC: this clip starts 02:30 UTC, the 1st of November in LA
    add_camera_with_clips(deployment, "resident_a", HOME_A, [clip],
                          [timedelta(hours=6, minutes=30)])
    return deployment


def test_the_library_groups_and_shows_clips_in_the_viewers_zone(d: Deployment) -> None:
    resident = d.signed_in("resident_a")
    resident.cookies.set("pl_tz", "America/Los_Angeles")
    page = resident.get("/clips").text
    assert "Sunday 1 November 2026" in page  # the day in Los Angeles, not UTC's 2nd
    assert re.search(r'<time datetime="2026-11-02T02:30:00\+00:00">18:30:00 PST</time>', page)
    clip_id = re.search(r'href="/clips/([0-9a-f-]{36})"', page).group(1)
    assert "Sun 1 Nov 2026, 18:30:00 PST" in resident.get(f"/clips/{clip_id}").text


def test_an_unknown_zone_falls_back_to_the_deployments(d: Deployment) -> None:
    resident = d.signed_in("resident_a")
    resident.cookies.set("pl_tz", "../../etc/passwd")
    page = resident.get("/clips").text
    assert "Monday 2 November 2026" in page and "02:30:00 UTC" in page
    assert "passwd" not in page
