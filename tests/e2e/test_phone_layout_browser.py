"""Details a newcomer met on a 390 px phone in Chromium: the development mail log, the
supervisor's two decisions, the consent page's clip rows, the evidence video's poster and the
legal demand pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from porchlight.config import Settings
from porchlight.requests.domain.requests import IncidentType, RequestDraft
from porchlight.requests.services import answers, video_requests
from porchlight.requests.services.commands import CreateVideoRequest
from tests.e2e import support
from tests.e2e.test_accounts import LoggedMail
from tests.e2e.test_authorization_matrix import _feed_flow, _request_flow, _upload_demo_clip
from tests.e2e.test_browser import _serve
from tests.e2e.test_pages_browser import OVERFLOW, PHONE, chromium  # noqa: F401 - a fixture

pytestmark = pytest.mark.browser
LONG_LINK = "http://127.0.0.1:8000/password/reset/" + "Q" * 180
CAMERA = "FrontPorchDoorbellCameraAboveTheBlueRecyclingBinsNorthSide"  # 58: a long one


class DatedMail(LoggedMail):
    """The development mail log, with the time each message went, as the real one has."""

    def read(self, limit: int = 50) -> list[dict[str, str]]:
        return [{**m, "at": "2026-11-02T09:00:00+00:00"} for m in super().read(limit)]


@dataclass
class Site:
    base: str
    d: support.Deployment
    params: dict[str, str]
    cookies: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("phone")
    settings = Settings(env="development", data_dir=folder / "var",  # for /dev/mail
                        jobs={"backend": "inline"})  # deliveries at once, as in tests
    d = support.build_deployment(settings, mailer=DatedMail())
    d.mailer.send(support.OutgoingMail(to="new@example.org", subject="Reset your password",
                                       body=f"Choose a new password at {LONG_LINK} ."))
    with d.container.uow() as uow:
        uow.cameras.get(d.camera_a).name = CAMERA
        uow.commit()
    clip_id = _upload_demo_clip(d, d.signed_in("resident_a"), folder)
    params = _request_flow(d, clip_id)
    params.update(_feed_flow(d, clip_id))
    now = d.clock.now()
    with d.container.uow() as uow:
        officer = uow.accounts.get(d.people["officer_x"].id)
        resident = uow.accounts.get(d.people["resident_a"].id)
    video_requests.create_request(d.container.uow(), d.container.requests_kit, officer,
                                  CreateVideoRequest(RequestDraft(
        case_number="M-3", incident_type=IncidentType.THEFT, incident_other=None,
        incident_time=now - timedelta(minutes=70), location=support.HOME_A, radius_m=200,
        window_start=now - timedelta(hours=2), window_end=now - timedelta(minutes=30),
        description="A parcel was taken from a porch on Alder St.", retention_days=30,
        sharing_plan=(), contact="Desk 555-0100")))
    [unanswered] = [item for item in answers.inbox(d.container.uow(), resident)
                    if str(item.delivery.id) != params["delivery_id"]]
    params["unanswered_id"] = str(unanswered.delivery.id)
    cookies = {}
    for key in ("resident_a", "officer_x", "supervisor_x", "platform_admin"):
        browser = d.browser()
        browser.sign_in(d.people[key])
        cookies[key] = dict(browser.cookies.items())
    for base, _ in _serve(d.app, None):
        yield Site(base, d, params, cookies)
    d.container.close()


@pytest.fixture
def phone(site: Site, chromium):  # noqa: F811 - the fixture imported above
    contexts = []

    def open_as(key: str, path: str):
        context = chromium.new_context(viewport=PHONE)
        contexts.append(context)
        context.add_cookies([{"name": name, "value": value, "url": site.base}
                             for name, value in site.cookies[key].items()])
        page = context.new_page()
        page.fetched = []
        page.on("request", lambda r: page.fetched.append(r.url))
        response = page.goto(site.base + path.format(**site.params))
        assert response is not None and response.status == 200, path
        return page

    yield open_as
    for context in contexts:
        context.close()


def fits(page) -> None:
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= PHONE["width"] and found["wide"] == [], found


def test_the_mail_log_wraps_long_links_and_shows_times_in_words(phone) -> None:
    page = phone("platform_admin", "/dev/mail")
    assert page.locator("article.mail a", has_text="password/reset").count() == 1
    fits(page)
    shown = page.locator("article.mail time").first
    assert shown.get_attribute("datetime") == "2026-11-02T09:00:00+00:00"
    assert "2026-11-02T09" not in page.locator("article.mail .note").first.inner_text()


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def test_the_supervisors_two_decisions_stand_apart(phone) -> None:
    page = phone("supervisor_x", "/requests/{pending_id}")
    fits(page)
    approve = box(page, "button:text('Approve and send')")
    reject_form, reject = box(page, "form.decision-reject"), box(page, "button:text('Reject')")
    withdraw = box(page, "button:text('Withdraw this request')")
    assert reject_form["y"] - (approve["y"] + approve["height"]) >= 24
    assert withdraw["y"] - (reject["y"] + reject["height"]) >= 24


def test_clip_rows_on_the_consent_page_wrap(phone) -> None:
    page = phone("resident_a", "/inbox/{unanswered_id}")
    assert page.locator("label", has_text=CAMERA).count() == 1
    fits(page)


def test_evidence_video_has_a_poster_and_reads_no_footage(phone, site: Site) -> None:
    page = phone("officer_x", "/requests/{request_id}")
    video = page.locator("[data-testid=evidence] video")
    assert video.get_attribute("preload") == "none"
    poster = video.get_attribute("poster")
    assert poster and poster.startswith(site.base + "/static/")
    page.wait_for_timeout(500)  # time for any preload the page would make
    assert not [url for url in page.fetched if "/evidence/" in url]
    drawn = page.evaluate("""(v) => v.poster""", video.element_handle())
    assert drawn == poster
    image = page.request.get(poster)
    assert image.status == 200 and image.headers["content-type"].startswith("image/svg+xml")
    text = image.text()
    assert "Press play to view" in text and "viewing is recorded" in text
    fits(page)


@pytest.mark.parametrize(("who", "path"), [
    ("platform_admin", "/admin"),
    ("platform_admin", "/admin/legal-demands"),
    ("platform_admin", "/admin/legal-demands/{demand_id}"),
    ("supervisor_x", "/legal-demands"),
    ("supervisor_x", "/legal-demands/{demand_id}"),
])
def test_the_legal_demand_pages_fit_a_phone(phone, who: str, path: str) -> None:
    fits(phone(who, path))


def test_where_is_my_footage_and_the_deletion_task_fit_a_phone(phone, site: Site) -> None:
    """The owner's footage page with a played copy, a legal hold and an unanswered deletion
    request; the supervisor's task with its answer form."""
    from uuid import UUID

    from porchlight.custody.services import evidence
    from porchlight.requests.services.commands import AskForDeletion

    d = site.d
    with d.container.uow() as uow:
        officer = uow.accounts.get(d.people["officer_x"].id)
        resident = uow.accounts.get(d.people["resident_a"].id)
    evidence.open_evidence(d.container.uow(), d.container.footage, officer,
                           UUID(site.params["evidence_id"]), record=True)
    answers.ask_for_deletion(d.container.uow(), resident,
                             AskForDeletion(UUID(site.params["delivery_id"])))
    page = phone("resident_a", "/footage")
    fits(page)
    card = page.locator("[data-testid=copy]").first
    assert "Played 1 time" in card.inner_text()
    assert card.locator("[data-testid=legal-hold]").count() == 1
    assert "must answer by" in card.locator("[data-testid=deletion-answer]").inner_text()
    assert box(page, "[data-testid=copy]")["width"] <= 390
    task = phone("supervisor_x", "/deletion-requests")
    fits(task)
    assert task.locator("[data-testid=deletion-task] button", has_text="Send the answer"
                        ).count() == 1


@pytest.mark.parametrize(("who", "path"), [
    ("resident_a", "/feed"),
    ("resident_a", "/feed/new"),
    ("resident_a", "/feed/posts/{post_id}"),
    ("officer_x", "/feed"),
    ("supervisor_x", "/agency/feed"),
    ("platform_admin", "/admin/moderation"),
])
def test_the_feed_pages_fit_a_phone(phone, who: str, path: str) -> None:
    fits(phone(who, path))
