"""HEAD wherever GET is, OPTIONS and 405 naming every method of a path (entrypoints/methods.py)."""

from __future__ import annotations

import pytest

from porchlight.config import Settings
from tests.e2e.support import Deployment, build_deployment

HTML = {"accept": "text/html"}
CAMERA = "/api/v1/cameras/00000000-0000-4000-8000-000000000000"


@pytest.fixture
def d(settings: Settings) -> Deployment:
    return build_deployment(settings)


@pytest.mark.parametrize(("path", "allow"), [
    ("/api/v1/me/cameras", "GET, HEAD, OPTIONS, POST"),  # two routes, one path
    ("/signin", "GET, HEAD, OPTIONS, POST"),
    (CAMERA, "OPTIONS, PATCH"),
    ("/api/v1/audit/entries", "GET, HEAD, OPTIONS"),
])
def test_options_and_405_name_every_method_of_the_path(
    d: Deployment, path: str, allow: str
) -> None:
    browser = d.browser()
    options = browser.options(path)
    assert (options.status_code, options.headers["allow"], options.content) == (204, allow, b"")
    refused = browser.put(path)
    assert (refused.status_code, refused.headers["allow"]) == (405, allow)
    assert refused.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(("path", "headers"), [
    ("/signin", HTML), ("/", HTML), ("/audit", HTML), ("/api/v1/neighbourhood", {}),
    ("/api/v1/audit/entries", {}), ("/healthz", {}), ("/api/v1/openapi.json", {}),
])
def test_head_answers_as_get_does_without_the_body(
    d: Deployment, path: str, headers: dict[str, str]
) -> None:
    browser = d.browser()
    got, head = browser.get(path, headers=headers), browser.head(path, headers=headers)
    assert head.status_code == got.status_code == 200
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content)) and head.content == b""


def test_head_keeps_the_routes_authorisation(d: Deployment) -> None:
    anonymous = d.browser()
    assert anonymous.head("/api/v1/me").status_code == 401
    page = anonymous.head("/account", headers=HTML, follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/signin?next=/account")
    resident = d.signed_in("resident_a")
    assert resident.head("/api/v1/me").status_code == 200
    assert resident.head("/admin/agencies", headers=HTML).status_code == 403


def test_head_and_options_need_no_csrf_token_but_unsafe_methods_still_do(d: Deployment) -> None:
    resident = d.signed_in("resident_a")  # a session cookie, and no X-CSRF-Token header below
    assert resident.head("/api/v1/me/cameras").status_code == 200
    assert resident.options("/api/v1/me/cameras").status_code == 204
    posted = resident.post("/api/v1/me/cameras", json={"name": "Porch", "lat": 45.5, "lon": -122.6})
    assert posted.status_code == 403
    assert "did not come from this site" in posted.json()["error"]["message"]


def test_paths_no_route_has_are_still_404_for_every_method(d: Deployment) -> None:
    browser = d.browser()
    for method in ("HEAD", "OPTIONS", "PUT"):
        response = browser.request(method, "/api/v1/nowhere")
        assert response.status_code == 404 and "allow" not in response.headers
    assert browser.head("/static/style.css").status_code == 200  # the static files as before


@pytest.mark.parametrize("path", ["/static/style.css", "/static/leaflet/leaflet.js",
                                  "/api/v1/docs/assets/swagger-ui.css"])
def test_static_files_answer_options_and_405_like_every_route(d: Deployment, path: str) -> None:
    browser = d.browser()
    options = browser.options(path)
    assert (options.status_code, options.headers["allow"], options.content) == (
        204, "GET, HEAD, OPTIONS", b"")
    refused = browser.put(path)
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD, OPTIONS")
    assert browser.get(path).status_code == browser.head(path).status_code == 200
