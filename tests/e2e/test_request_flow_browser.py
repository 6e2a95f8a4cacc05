"""The whole request flow in a real Chromium: officer, supervisor, resident A and B, officer.

An officer asks for a 400 m radius (so a supervisor must approve), the supervisor approves
with a justification, resident A reads the disclosure and shares one of two clips with
"this agency only", resident B declines, and the officer sees exactly one clip and no
trace of resident B.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pyotp
import pytest
from sqlalchemy import func, select

from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.kernel.adapters.db import tables
from tests.conftest import CHROMIUM, skip_or_fail
from tests.e2e import support
from tests.e2e.test_browser import CHROMIUM_ARGS, _serve
from tests.e2e.test_video_requests import add_camera_with_clips

pytestmark = pytest.mark.browser
LA = "America/Los_Angeles"  # the officer's browser: times typed are read in its zone


@pytest.fixture
def flow(settings, tmp_path) -> Iterator[tuple[str, support.Deployment]]:
    d = support.build_deployment(settings)
    with d.container.uow() as uow:
        uow.agencies.get(d.agency_x).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    clips = [make_demo_clip(tmp_path / f"{n}.mp4", seconds=2, width=320, height=180, seed=n)
             for n in range(3)]
    add_camera_with_clips(d, "resident_a", support.HOME_A, clips[:2],
                          [timedelta(hours=2, minutes=50), timedelta(hours=2, minutes=30)])
    add_camera_with_clips(d, "resident_b", support.HOME_B, clips[2:],
                          [timedelta(hours=2, minutes=40)])
    yield from _serve(d.app, d)


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM:
        skip_or_fail("no Chromium: install Debian's chromium package (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def sign_in(browser, base: str, d: support.Deployment, key: str, zone: str = "UTC"):
    page = browser.new_context(timezone_id=zone).new_page()
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
    return page


def test_the_whole_request_flow(flow, browser) -> None:
    base, d = flow
    start = d.clock.now() - timedelta(hours=3)
    officer = sign_in(browser, base, d, "officer_x", zone=LA)
    officer.goto(base + "/requests")

    def typed(moment) -> str:  # what the officer types: wall-clock time where they are
        return moment.astimezone(ZoneInfo(LA)).strftime("%Y-%m-%dT%H:%M")

    fill = {"Case number": "24-0815", "Incident time": typed(start + timedelta(minutes=20)),
            "Incident latitude": str(support.HOME_A.lat),
            "Incident longitude": str(support.HOME_A.lon), "Radius (metres)": "400",
            "Footage from": typed(start), "Footage until": typed(start + timedelta(hours=1)),
            "What residents will read": "A bicycle was stolen from a porch on Alder St; we "
                                        "are looking for the person who took it.",
            "Contact residents may use": "Officer X, 555-0101"}
    for label, value in fill.items():
        officer.get_by_label(label, exact=True).fill(value)
    officer.get_by_label("Incident type").select_option("theft")
    officer.get_by_role("button", name="Send request").click()
    officer.wait_for_url(re.compile(r".*/requests/[0-9a-f-]{36}$"))
    request_url = officer.url
    assert "awaiting approval" in officer.get_by_test_id("request-status").inner_text()

    supervisor = sign_in(browser, base, d, "supervisor_x")
    supervisor.goto(request_url)
    supervisor.get_by_label("Written justification").fill(
        "The thief rode off through the park; 400 m covers both of its gates.")
    supervisor.get_by_role("button", name="Approve and send").click()
    supervisor.wait_for_url(request_url)
    assert "open" in supervisor.get_by_test_id("request-status").inner_text()

    resident_a = sign_in(browser, base, d, "resident_a")
    resident_a.goto(base + "/inbox")
    resident_a.get_by_test_id("inbox-item").first.get_by_role("link").click()
    disclosure = resident_a.get_by_test_id("disclosure").inner_text()
    for promise in ("Agency X Police", "24-0815", "400 m", "90 days", "not sent unless",
                    "never learn who declined"):
        assert promise in disclosure
    resident_a.locator("input[name=clips]").first.check()
    resident_a.get_by_label("this agency only").check()
    resident_a.get_by_label("Share my contact details").check()
    resident_a.get_by_role("button", name="Share the clips I picked").click()
    resident_a.wait_for_load_state()
    outcome = resident_a.get_by_role("status").inner_text()
    assert "You shared 1 clip(s) with Agency X Police" in outcome
    sent = resident_a.get_by_test_id("contact-shared").inner_text()  # what went, to whom
    assert "Agency X Police" in sent and "resident_a@example.org" in sent

    resident_b = sign_in(browser, base, d, "resident_b")
    resident_b.goto(base + "/inbox")
    resident_b.get_by_test_id("inbox-item").first.get_by_role("link").click()
    resident_b.get_by_role("button", name="Decline").click()
    assert "Decline this request?" in resident_b.get_by_role("heading", level=1).inner_text()
    resident_b.get_by_role("button", name="Yes, decline").click()
    resident_b.wait_for_url("**/inbox")

    officer.goto(request_url)
    assert officer.get_by_test_id("evidence").count() == 1
    page_text = officer.content()
    for trace in ("resident_b", "Resident B", d.people["resident_b"].email,
                  str(d.people["resident_b"].id)):
        assert trace not in page_text
    # A ticked the box, so the officer has A's contact details, and nobody else's
    assert officer.get_by_test_id("contacts").inner_text() == (
        "Resident A · resident_a@example.org")
    assert "not shown" in officer.get_by_test_id("counts").inner_text()  # declines hidden
    officer.wait_for_timeout(500)  # time for any preload the page would make
    assert audit_count(d, "evidence.viewed") == 0  # opening the page is not viewing
    resident_a.reload()
    assert resident_a.get_by_role("button", name="Take my consent back").count() == 1
    played = officer.eval_on_selector(
        "video", "v => new Promise(r => { v.muted = true; v.play().then(() => "
        "setTimeout(() => r(v.currentTime), 700)).catch(e => r(-1)); })")
    assert played > 0
    assert audit_count(d, "evidence.viewed") >= 1  # playing it is


def audit_count(d: support.Deployment, kind: str) -> int:
    with d.container.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(tables.audit_events)
                                  .where(tables.audit_events.c.kind == kind)).scalar_one()


def test_the_owner_plays_a_clip_in_the_library(flow, browser) -> None:
    base, d = flow
    page = sign_in(browser, base, d, "resident_a")
    page.goto(base + "/clips")
    assert page.get_by_test_id("clip").count() == 2
    page.get_by_test_id("clip").first.get_by_role("link").click()
    page.wait_for_url(re.compile(r".*/clips/[0-9a-f-]{36}$"))
    advanced = page.eval_on_selector(
        "#player", "v => new Promise(r => { v.muted = true; v.play().then(() => "
        "setTimeout(() => r(v.currentTime), 700)).catch(e => r(-1)); })")
    assert advanced > 0
