"""The Neighbors feed in a real Chromium on a 390 px phone, with the tile server down: a
resident posts, a neighbour sees the post in the feed's list and as a marker on its map,
opens it and reports it; nothing breaks the Content-Security-Policy or leaves the site."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from porchlight.config import Settings
from tests.e2e import support
from tests.e2e.test_maps_browser import (  # noqa: F401 - chromium is a fixture
    DOWN_TILES,
    PHONE,
    Watched,
    _deployment,
    _serve_d,
    _sign_in,
    chromium,
)
from tests.e2e.test_pages_browser import OVERFLOW

pytestmark = pytest.mark.browser


@pytest.fixture
def site(settings: Settings) -> Iterator[tuple[str, support.Deployment]]:
    yield from _serve_d(_deployment(settings, DOWN_TILES))


def test_a_post_reaches_a_neighbours_list_and_map_and_is_reported(
    site, chromium  # noqa: F811 - the fixture imported above
) -> None:
    base, d = site
    author = Watched(chromium, base, PHONE)
    page = author.page
    _sign_in(page, base, d, "resident_a")
    page.get_by_role("link", name="Neighbors feed").click()
    page.get_by_role("link", name="Post to the feed").click()
    expect(page.get_by_test_id("rules")).to_contain_text("profiling")
    expect(page.get_by_label("Blur faces (recommended)")).to_be_checked()
    page.get_by_label("Category").select_option("pet")
    page.get_by_label("Title").fill("Lost tabby near the park")
    page.get_by_label("What happened").fill("Answers to Miso; grey with a white chest.")
    page.get_by_role("button", name="Prepare the post").click()
    expect(page.get_by_test_id("draft")).to_be_visible()
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("draft")).to_have_count(0)
    author.assert_clean()

    neighbour = Watched(chromium, base, PHONE)
    page = neighbour.page
    _sign_in(page, base, d, "resident_b")
    page.goto(base + "/feed")
    post = page.get_by_test_id("feed-post").filter(has_text="Lost tabby near the park")
    expect(post).to_contain_text("a neighbour")
    expect(post).not_to_contain_text("Resident A")
    the_map = page.get_by_test_id("feed-map")
    expect(the_map).to_have_attribute("data-markers", "1")
    expect(the_map.locator("path.feed-marker")).to_have_count(1)
    expect(page.get_by_test_id("map-note")).to_contain_text("background map is unavailable")
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= PHONE["viewport"]["width"] and found["wide"] == [], found

    post.get_by_role("link", name="Lost tabby near the park").click()
    page.get_by_label("Why").select_option("personal_data")
    page.get_by_label("Anything to add (optional)").fill("Names the owner's street")
    page.get_by_test_id("report").click()
    expect(page.get_by_test_id("reported")).to_be_visible()
    neighbour.assert_clean()
    with d.container.uow() as uow:
        [report] = uow.reports.open()
    assert report.reason.value == "personal_data"
