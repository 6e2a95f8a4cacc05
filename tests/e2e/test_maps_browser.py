"""Maps in a real Chromium, on a 390 x 844 phone and on a desktop, with no tiles.

This machine cannot reach a tile server, and the tests must not depend on one: either the
tile URL is empty, or its requests are aborted (as a server that is down would be). The
dot, the circle, the inputs and the reach preview must work all the same, and nothing may
break the Content-Security-Policy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import expect

from porchlight.config import Settings
from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.footage.services import cameras
from porchlight.footage.services.commands import RegisterCamera
from porchlight.kernel.domain.geo import LatLon
from porchlight.requests.services import answers, video_requests
from porchlight.requests.services.commands import CreateVideoRequest
from tests.conftest import CHROMIUM, skip_or_fail
from tests.e2e import support
from tests.e2e.test_browser import CHROMIUM_ARGS, _serve

pytestmark = pytest.mark.browser

DOWN_TILES = "https://tiles.invalid/{z}/{x}/{y}.png"  # every request to it is aborted
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
SCREENS = pytest.mark.parametrize("screen", [PHONE, DESKTOP], ids=["phone", "desktop"])
REASON = "The radius takes in the whole school; ask for the two streets around the shop."


def _deployment(settings: Settings, tile_url: str) -> support.Deployment:
    maps = settings.map.model_copy(update={"tile_url": tile_url})
    d = support.build_deployment(settings.model_copy(update={"map": maps}))
    with d.container.uow() as uow:
        uow.agencies.get(d.agency_x).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    return d


@pytest.fixture
def down_tiles(settings: Settings) -> Iterator[tuple[str, support.Deployment]]:
    yield from _serve_d(_deployment(settings, DOWN_TILES))


@pytest.fixture
def no_tiles(settings: Settings) -> Iterator[tuple[str, support.Deployment]]:
    yield from _serve_d(_deployment(settings, ""))


def _serve_d(d: support.Deployment) -> Iterator[tuple[str, support.Deployment]]:
    yield from _serve(d.app, d)


@pytest.fixture
def chromium() -> Iterator[object]:
    if not CHROMIUM:
        skip_or_fail("no Chromium: install Debian's chromium package (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page whose CSP complaints and requests leaving the site are kept."""

    def __init__(self, chromium, base: str, screen: dict) -> None:
        context = chromium.new_context(timezone_id="UTC", **screen)
        context.route("https://tiles.invalid/**", lambda route: route.abort())
        self.page = context.new_page()
        self.touch = bool(screen.get("has_touch"))
        self.refused: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", lambda m: self.refused.append(m.text)
                     if "Content Security Policy" in m.text else None)
        self.page.on("request", lambda r: self.outside.append(r.url)
                     if not r.url.startswith((base, "data:", "blob:", "https://tiles.invalid/"))
                     else None)

    def press_map(self, map_locator, x_share: float, y_share: float) -> None:
        box = map_locator.bounding_box()
        where = {"x": box["width"] * x_share, "y": box["height"] * y_share}
        if self.touch:
            map_locator.tap(position=where)
        else:
            map_locator.click(position=where)

    def assert_clean(self) -> None:
        assert self.refused == [] and self.outside == []


def _sign_in(page, base: str, d: support.Deployment, key: str) -> None:
    person = d.people[key]
    page.goto(base + "/signin")
    page.get_by_label("E-mail address").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    if person.totp_secret:
        page.wait_for_url("**/signin/mfa**")
        d.clock.advance(timedelta(seconds=30))
        page.get_by_label("Code").fill(pyotp.TOTP(person.totp_secret).at(d.clock.now()))
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/account")


def _fits(page, locator, width: int) -> None:
    box = locator.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert 150 <= box["height"] <= 400  # a phone still sees the fields below it


FIVE_DECIMALS = re.compile(r"^-?\d{1,3}\.\d{5}$")


@SCREENS
def test_a_resident_picks_their_home_on_the_map(down_tiles, chromium, screen) -> None:
    base, _ = down_tiles
    watched = Watched(chromium, base, screen)
    page = watched.page
    page.goto(base + "/register")
    fieldset = page.locator("fieldset.location")
    the_map = fieldset.get_by_test_id("map")
    expect(the_map).to_be_visible()
    expect(fieldset.get_by_test_id("map-note")).to_contain_text(
        "background map is unavailable")
    _fits(page, the_map, screen["viewport"]["width"])
    watched.press_map(the_map, 0.7, 0.4)
    expect(page.locator("#f-home_lat")).to_have_value(FIVE_DECIMALS)
    expect(page.locator("#f-home_lon")).to_have_value(FIVE_DECIMALS)
    assert fieldset.locator(".leaflet-overlay-pane path").count() == 1  # the dot
    # the keyboard goes from the password straight to the latitude: the map is skipped
    assert the_map.get_attribute("aria-hidden") == "true"
    page.locator("#f-password").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-home_lat"
    watched.assert_clean()


@SCREENS
def test_a_resident_places_a_camera_on_the_map(down_tiles, chromium, screen) -> None:
    base, d = down_tiles
    watched = Watched(chromium, base, screen)
    page = watched.page
    _sign_in(page, base, d, "resident_a")
    page.goto(base + "/cameras")
    lat, lon = page.locator("#f-lat"), page.locator("#f-lon")
    expect(lat).to_have_value(str(support.HOME_A.lat))  # the home, as the dot's start
    the_map = page.get_by_test_id("map")
    watched.press_map(the_map, 0.8, 0.25)  # north-east of home
    expect(lat).not_to_have_value(str(support.HOME_A.lat))
    picked = (float(lat.input_value()), float(lon.input_value()))
    assert picked[0] > support.HOME_A.lat and picked[1] > support.HOME_A.lon
    lat.fill("45.51300")  # typing moves the dot back into view, and it is what is saved
    page.get_by_label("Name", exact=True).fill("Side gate")
    page.get_by_role("button", name="Add camera").click()
    page.wait_for_load_state()
    with d.container.uow() as uow:
        resident = uow.accounts.get(d.people["resident_a"].id)
        placed = [c for c in uow.cameras.list_by_owner(resident.id) if c.name == "Side gate"]
    assert [(c.lat, c.lon) for c in placed] == [(45.513, picked[1])]
    watched.assert_clean()


def test_the_dot_can_be_dragged_with_a_mouse(down_tiles, chromium) -> None:
    base, d = down_tiles
    watched = Watched(chromium, base, DESKTOP)
    page = watched.page
    _sign_in(page, base, d, "resident_a")
    page.goto(base + "/cameras")
    dot = page.locator(".leaflet-overlay-pane path.leaflet-interactive")
    expect(dot).to_have_count(1)
    box = dot.bounding_box()
    start = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] - 60, start[1] + 40, steps=5)  # south-west
    page.mouse.up()
    expect(page.locator("#f-lat")).not_to_have_value(str(support.HOME_A.lat))
    assert float(page.locator("#f-lat").input_value()) < support.HOME_A.lat
    assert float(page.locator("#f-lon").input_value()) < support.HOME_A.lon
    watched.assert_clean()


def _opted_in_cameras(d: support.Deployment, count: int) -> None:
    owner = support.actor(d, "resident_b")
    for n in range(count):
        cameras.register_camera(d.container.uow(), owner, RegisterCamera(
            f"Cam {n}", LatLon(support.HOME_A.lat + n * 0.0002, support.HOME_A.lon),
            opted_in=True))


@SCREENS
def test_the_officer_sees_how_many_cameras_the_circle_reaches(no_tiles, chromium,
                                                              screen) -> None:
    base, d = no_tiles
    _opted_in_cameras(d, 6)  # with resident A's: 7 within 150 m of home A
    watched = Watched(chromium, base, screen)
    page = watched.page
    _sign_in(page, base, d, "officer_x")
    page.goto(base + "/requests")
    where = page.locator("fieldset.location")
    expect(where.get_by_test_id("map-note")).to_contain_text("No background map")
    page.get_by_label("Incident latitude").fill(str(support.HOME_A.lat))
    page.get_by_label("Incident longitude").fill(str(support.HOME_A.lon))
    page.get_by_label("Radius (metres)").fill("150")
    reach = where.get_by_test_id("reach")
    expect(reach).to_contain_text("5 to 9 opted-in cameras")
    expect(reach).to_contain_text("counted within 200 m of this ~200 m area")
    expect(where.locator(".leaflet-overlay-pane path")).to_have_count(2)  # dot and circle
    page.get_by_label("Incident latitude").fill(str(support.HOME_A.lat + 0.02))  # 2 km north
    expect(reach).to_contain_text("fewer than 5 opted-in cameras")
    page.get_by_label("Radius (metres)").fill("5")
    expect(reach).to_contain_text("the radius must be 10 to 650 m")
    _fits(page, where.get_by_test_id("map"), screen["viewport"]["width"])
    watched.assert_clean()


@SCREENS
def test_the_supervisor_sees_the_facts_and_the_map_and_rejects_with_a_reason(
        no_tiles, chromium, screen) -> None:
    base, d = no_tiles
    wide = support.draft(d, radius_m=400, sharing_plan=())
    request_id = video_requests.create_request(
        d.container.uow(), d.container.requests_kit, support.actor(d, "officer_x"),
            CreateVideoRequest(wide))
    watched = Watched(chromium, base, screen)
    page = watched.page
    _sign_in(page, base, d, "supervisor_x")
    page.goto(f"{base}/requests/{request_id}")
    facts = page.get_by_test_id("facts")
    for fact in ("Officer_X", "Burglary", "Monday 2 November 2026, 06:20 UTC",
                 "45.51220, -122.65870", "400 m", "90 days", "no other agency",
                 "the radius is larger than an officer may ask for alone"):
        expect(facts).to_contain_text(fact)
    expect(page.get_by_test_id("residents-read")).to_contain_text("grey van")
    shown = page.locator("[data-map-view]")
    expect(shown.locator(".leaflet-overlay-pane path")).to_have_count(2)
    _fits(page, shown, screen["viewport"]["width"])

    page.get_by_role("button", name="Reject").click()
    expect(page.locator("#f-reason-error")).to_have_text("this is required")
    expect(page.get_by_test_id("request-status")).to_contain_text("awaiting approval")
    page.get_by_label("Reason for rejecting").fill(REASON)
    page.get_by_role("button", name="Reject").click()
    expect(page.get_by_test_id("rejection")).to_contain_text(REASON)

    officer = Watched(chromium, base, screen)
    _sign_in(officer.page, base, d, "officer_x")
    officer.page.goto(f"{base}/requests/{request_id}")
    expect(officer.page.get_by_test_id("request-status")).to_contain_text("rejected")
    expect(officer.page.get_by_test_id("rejection")).to_contain_text(REASON)
    expect(officer.page.get_by_test_id("rejection")).to_contain_text("Supervisor_X")
    watched.assert_clean()
    officer.assert_clean()


def test_the_resident_sees_the_area_in_the_disclosure(no_tiles, chromium, tmp_path) -> None:
    base, d = no_tiles
    clip = make_demo_clip(tmp_path / "c.mp4", seconds=1, width=320, height=180)
    support.add_camera_with_clips(d, "resident_a", support.HOME_A, [clip],
                                  [timedelta(hours=2, minutes=50)])
    video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                  support.actor(d, "officer_x"),
                                      CreateVideoRequest(support.draft(d)))
    [item] = answers.inbox(d.container.uow(), support.actor(d, "resident_a"))
    watched = Watched(chromium, base, PHONE)
    page = watched.page
    _sign_in(page, base, d, "resident_a")
    page.goto(f"{base}/inbox/{item.delivery.id}")
    area = page.get_by_test_id("disclosure").locator("figure.map-view")
    expect(area.locator(".leaflet-overlay-pane path")).to_have_count(2)
    expect(area.locator("figcaption")).to_contain_text("within 250 m of the incident's place")
    watched.assert_clean()
