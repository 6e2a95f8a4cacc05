"""Re-sharing in a real Chromium: an officer of agency X opens the request's evidence, shares
it with the neighbouring agency Y (a county sheriff, which resident A's "any local or state
agency" consent admits) with a reason, on a 390 px phone screen; Y's officer finds it
marked as received from X; resident A's page for the request then shows the share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.requests.domain.consent import SharingScope
from tests.e2e import support
from tests.e2e.test_browser import _serve
from tests.e2e.test_pages_browser import OVERFLOW, PHONE
from tests.e2e.test_request_flow_browser import browser, sign_in  # noqa: F401  (a fixture)
from tests.e2e.test_reshare import share_clip

pytestmark = pytest.mark.browser
REASON = "Agency Y is investigating the same garage burglaries."


@pytest.fixture
def site(settings, tmp_path: Path) -> Iterator[tuple[str, support.Deployment, object]]:
    d = support.build_deployment(settings)
    with d.container.uow() as uow:
        for agency_id in (d.agency_x, d.agency_y):
            uow.agencies.get(agency_id).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    clip = make_demo_clip(tmp_path / "0.mp4", seconds=2, width=320, height=180, seed=0)
    shared = share_clip(d, [clip], SharingScope.LOCAL_OR_STATE)
    for base, _ in _serve(d.app, None):
        yield base, d, shared


def test_an_officer_reshares_to_the_neighbouring_agency_and_the_owner_sees_it(
    site, browser  # noqa: F811
) -> None:
    base, d, shared = site
    officer = sign_in(browser, base, d, "officer_x")
    officer.set_viewport_size(PHONE)
    officer.goto(f"{base}/requests/{shared.request_id}")
    officer.get_by_test_id("share-link").click()
    officer.wait_for_url("**/share")
    found = officer.evaluate(OVERFLOW)
    assert found["scroll"] <= PHONE["width"] and not found["wide"], found
    officer.get_by_label("Agency to receive a copy").select_option(label="Agency Y Sheriff "
                                                                         "(County sheriff)")
    officer.get_by_label("Reason for sharing").fill(REASON)
    officer.get_by_role("button", name="Share with this agency").click()
    officer.wait_for_url("**/share#shares")
    share = officer.get_by_test_id("share")
    assert "Agency Y Sheriff" in share.inner_text() and REASON in share.inner_text()
    assert "kept until" in officer.get_by_test_id("copy-state").inner_text()

    deputy = sign_in(browser, base, d, "officer_y")
    deputy.goto(f"{base}/evidence")
    assert "Received from Agency X Police" in deputy.get_by_test_id("received-from").inner_text()

    resident = sign_in(browser, base, d, "resident_a")
    resident.goto(f"{base}/inbox/{shared.delivery_id}")
    notice = resident.get_by_test_id("reshare").inner_text()
    assert "shared your footage on to Agency Y Sheriff" in notice
    assert f"reason: {REASON}" in notice
