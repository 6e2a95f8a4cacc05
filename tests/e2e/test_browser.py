"""A real Chromium (Debian's package) opens the landing page served by uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
import uvicorn

from porchlight.bootstrap import Container
from porchlight.entrypoints.app import create_app
from tests.conftest import CHROMIUM, skip_or_fail
from tests.e2e import support

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def live_server(populated: Container) -> Iterator[str]:
    for base, _ in _serve(create_app(container=populated), None):
        yield base


def _serve(app, extra):
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", extra
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser_page() -> Iterator[object]:
    if not CHROMIUM:
        skip_or_fail("no Chromium: install Debian's chromium package (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        yield page
        browser.close()


def test_landing_page_renders_in_chromium(live_server: str, browser_page) -> None:
    page = browser_page
    page.goto(live_server + "/")
    assert page.title() == "Home · Porchlight"
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Your camera, your street, your choice."
    )
    assert page.get_by_test_id("cameras").inner_text() == "2"
    # the stylesheet was fetched from this server and applied
    weight = page.eval_on_selector(".figures dd", "e => getComputedStyle(e).fontWeight")
    assert weight == "700"
    page.get_by_role("link", name="Agencies").click()
    page.wait_for_url("**/agencies")
    assert "Metro Police" in page.get_by_role("table").inner_text()


@pytest.fixture
def cast_server(settings) -> Iterator[tuple[str, support.Deployment]]:
    deployment = support.build_deployment(settings)
    yield from _serve(deployment.app, deployment)


def test_officer_signs_in_with_password_and_authenticator(cast_server, browser_page) -> None:
    base, deployment = cast_server
    officer = deployment.people["officer_x"]
    page = browser_page
    page.goto(base + "/signin")
    page.get_by_label("E-mail address").fill(officer.email)
    page.get_by_label("Password").fill(officer.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/signin/mfa**")
    assert page.get_by_role("heading", level=1).inner_text() == "Two-step sign-in"
    deployment.clock.advance(timedelta(seconds=30))
    page.get_by_label("Code").fill(pyotp.TOTP(officer.totp_secret).at(deployment.clock.now()))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/account")
    assert page.get_by_role("heading", level=1).inner_text() == "Your account"
    assert "officer" in page.locator("dl.facts").inner_text()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(base + "/")
    assert page.get_by_role("link", name="Sign in").is_visible()


def test_swagger_ui_runs_under_the_content_security_policy(live_server: str, browser_page) -> None:
    """The API docs render from the installed package with no inline code and no CDN."""
    page = browser_page
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith((live_server, "data:", "blob:")) else None)
    page.goto(live_server + "/api/v1/docs")
    page.locator(".opblock-summary-path").first.wait_for(timeout=15000)
    assert page.locator(".opblock").count() >= 20  # every operation, rendered by the script
    assert refused == [] and outside == []
