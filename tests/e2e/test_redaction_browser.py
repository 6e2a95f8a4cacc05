"""Blurring bystanders in a real Chromium on a 390 px phone: from the clip's page to a
finished copy, the faces outlined on their pictures, an area drawn over the paused video
filling in the form, and the copy approved."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from porchlight import bootstrap
from porchlight.config import Settings
from porchlight.redaction.services.ports import RedactionFailed
from tests.conftest import skip_or_fail
from tests.e2e import support
from tests.e2e.test_browser import _serve
from tests.e2e.test_pages_browser import OVERFLOW, PHONE, chromium  # noqa: F401 - a fixture

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, support.Deployment,
                                                                      str, dict]]:
    try:
        from tests.integration.faces_clip import write_clip
    except ImportError as exc:
        skip_or_fail(f"the faces clip needs scikit-image: {exc}")
    try:
        bootstrap.build_redactor(Settings(env="test")).check()
    except RedactionFailed as exc:
        skip_or_fail(f"no face detector model: {exc}")
    folder = tmp_path_factory.mktemp("redaction-browser")
    write_clip(folder / "faces.mp4", 640, 360, seconds=2.0, fps=15)
    d = support.build_deployment(Settings(env="test", data_dir=folder / "var"))
    _, [clip_id] = support.add_camera_with_clips(d, "resident_a", support.HOME_A,
                                                 [folder / "faces.mp4"], [timedelta(hours=1)])
    browser = d.browser()
    browser.sign_in(d.people["resident_a"])
    cookies = dict(browser.cookies.items())
    for base, _ in _serve(d.app, None):
        yield base, d, str(clip_id), cookies
    d.container.close()


def test_the_owner_blurs_checks_draws_and_approves_on_a_phone(site, chromium) -> None:  # noqa: F811
    base, _, clip_id, cookies = site
    context = chromium.new_context(viewport=PHONE)
    context.add_cookies([{"name": k, "value": v, "url": base} for k, v in cookies.items()])
    page = context.new_page()
    page.goto(f"{base}/clips/{clip_id}")
    page.click("text=Blur bystanders")
    assert page.url.endswith(f"/clips/{clip_id}/redact")
    assert page.evaluate(OVERFLOW)["scroll"] <= PHONE["width"]
    page.select_option("#f-style", "pixelate")
    page.click("button:text('Make a blurred copy')")
    page.wait_for_selector("video#preview")  # the inline queue made it after the commit
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= PHONE["width"] and found["wide"] == [], found

    faces = page.locator(".face")
    assert faces.count() >= 2
    outline = faces.first.locator(".outline")
    outline.wait_for(state="visible")  # placed by the page's script over the face's picture
    inner = outline.bounding_box()
    picture = faces.first.locator("img").bounding_box()
    assert picture["x"] <= inner["x"] and inner["x"] + inner["width"] <= picture["x"] + \
        picture["width"] + 1
    assert page.locator("[data-testid=limits]").is_visible()

    video = page.locator("video#preview")
    page.wait_for_function("document.querySelector('video#preview').readyState >= 1")
    where = video.bounding_box()
    page.mouse.move(where["x"] + 20, where["y"] + 20)
    page.mouse.down()
    page.mouse.move(where["x"] + 80, where["y"] + 60, steps=4)
    page.mouse.up()
    typed = page.input_value("#f-boxes")
    start, end, x, y, w, h = typed.split(",")
    assert float(start) == 0.0 and float(end) > 0
    assert int(w) > 0 and int(h) > 0 and int(x) + int(w) <= 640 and int(y) + int(h) <= 360

    page.click("button:text('Approve this copy')")
    page.wait_for_selector("[data-testid=approved]")
    context.close()
