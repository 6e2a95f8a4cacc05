"""Every page in a real Chromium: on a 390 px phone nothing scrolls sideways, and the main
pages have no serious accessibility violations (axe-core, from axe-playwright-python)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from porchlight.config import Settings
from tests.conftest import CHROMIUM, skip_or_fail
from tests.e2e import support
from tests.e2e.test_authorization_matrix import _feed_flow, _request_flow, _upload_demo_clip
from tests.e2e.test_browser import CHROMIUM_ARGS, _serve

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}

# Every page a person can reach, by who reaches it ({names} are filled in from the site).
PAGES = {
    "anonymous": ["/", "/agencies", "/audit", "/signin", "/register", "/password/forgot",
                  "/password/reset/bogus-link", "/invite/bogus-link", "/no/such/page",
                  "/api/v1/docs"],
    "resident_a": ["/account", "/account/mfa", "/cameras", "/clips", "/clips/{clip_id}",
                   "/inbox", "/inbox/{delivery_id}", "/footage", "/clips/{clip_id}/redact",
                   "/feed", "/feed/new", "/feed/posts/{post_id}"],
    "officer_x": ["/requests", "/requests/{request_id}", "/requests/{pending_id}",
                  "/account", "/evidence/{evidence_id}/share", "/evidence",
                  "/deletion-requests"],
    "supervisor_x": ["/requests/{pending_id}", "/requests/{request_id}", "/feed",
                     "/agency/feed"],
    "admin_x": ["/agency", "/agencies/{agency_id}/staff"],
    "platform_admin": ["/admin/agencies", "/agencies/{agency_id}/staff", "/admin/moderation",
                       "/feed/posts/{post_id}"],
}
# The pages axe checks (the rest share their layout and parts).
AXE = {"anonymous": ["/", "/signin", "/register", "/audit"],
       "resident_a": ["/cameras", "/clips", "/clips/{clip_id}", "/inbox/{delivery_id}",
                      "/account", "/footage", "/feed", "/feed/new", "/feed/posts/{post_id}"],
       "officer_x": ["/requests", "/requests/{request_id}", "/evidence/{evidence_id}/share"],
       "platform_admin": ["/admin/agencies", "/admin/moderation"]}

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (element) => {  // inside a box that cuts it off (a map's panes), not scrolled
    for (let up = element.parentElement; up; up = up.parentElement) {
      const overflow = getComputedStyle(up).overflowX;
      if (overflow === "hidden" || overflow === "clip") { return true; }
    }
    return false;
  };
  const wide = [];
  for (const element of document.querySelectorAll("body *")) {
    const box = element.getBoundingClientRect();
    if (box.width > 0 && (box.right > width + 1 || box.left < -1) && !clipped(element)) {
      wide.push(element.tagName.toLowerCase() + "." + String(element.className.baseVal ??
                element.className) + " " + Math.round(box.left) + ".." + Math.round(box.right));
    }
  }
  return {scroll: document.documentElement.scrollWidth, width: width, wide: wide.slice(0, 5)};
}"""


@dataclass
class Site:
    base: str
    deployment: support.Deployment
    params: dict[str, str]
    cookies: dict[str, dict[str, str]]

    def url(self, path: str) -> str:
        return self.base + path.format(**self.params)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("pages")
    d = support.build_deployment(Settings(env="test", data_dir=folder / "var"))
    cookies = {}
    for actor in PAGES:
        browser = d.browser()
        if actor != "anonymous":
            browser.sign_in(d.people[actor])
        cookies[actor] = dict(browser.cookies.items())
    clip_id = _upload_demo_clip(d, d.signed_in("resident_a"), folder)
    params = {"clip_id": clip_id, "agency_id": str(d.agency_x), **_request_flow(d, clip_id),
              **_feed_flow(d, clip_id)}
    for base, _ in _serve(d.app, None):
        yield Site(base, d, params, cookies)
    d.container.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not CHROMIUM:
        skip_or_fail("no Chromium: install Debian's chromium package (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _page(chromium, site: Site, actor: str, viewport: dict | None = None):
    context = chromium.new_context(viewport=viewport or {"width": 1280, "height": 900})
    context.add_cookies([{"name": name, "value": value, "url": site.base}
                         for name, value in site.cookies[actor].items()])
    return context.new_page()


@pytest.mark.parametrize("actor", list(PAGES))
def test_every_page_fits_a_390_px_phone(site: Site, chromium, actor: str) -> None:
    page = _page(chromium, site, actor, PHONE)
    too_wide = {}
    for path in PAGES[actor]:
        response = page.goto(site.url(path))
        assert response is not None and response.status < 500, path
        landed = page.url.replace(site.base, "").split("?")[0]
        assert landed == "/signin" or not landed.startswith("/signin"), (path, page.url)
        found = page.evaluate(OVERFLOW)
        if found["scroll"] > PHONE["width"] or found["wide"]:
            too_wide[path] = found
    page.context.close()
    assert too_wide == {}


@pytest.mark.parametrize("actor", list(AXE))
def test_main_pages_have_no_serious_accessibility_violations(site: Site, chromium,
                                                             actor: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    page = _page(chromium, site, actor)
    serious = {}
    for path in AXE[actor]:
        page.goto(site.url(path))
        results = axe.run(page)
        bad = [(v["id"], v["impact"], len(v["nodes"])) for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]
        if bad:
            serious[path] = bad
    page.context.close()
    assert serious == {}


def test_the_first_tab_offers_to_skip_the_header_to_the_content(site: Site, chromium) -> None:
    page = _page(chromium, site, "resident_a", PHONE)
    page.goto(site.url("/clips"))
    skip = page.locator("a.skip")
    assert skip.bounding_box()["y"] < 0  # out of sight until it has the focus
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert skip.bounding_box()["y"] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.context.close()
