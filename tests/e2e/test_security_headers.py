"""Security headers on every kind of response, and no inline code anywhere the CSP forbids it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from porchlight.config import Settings
from porchlight.entrypoints.headers import content_security_policy
from tests.e2e.support import Deployment, build_deployment

TEMPLATES = Path(__file__).parents[2] / "src/porchlight/entrypoints/web/templates"


@pytest.fixture
def d(settings: Settings) -> Deployment:
    return build_deployment(settings)


def csp(response) -> dict[str, list[str]]:
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


@pytest.mark.parametrize("path", ["/", "/signin", "/agencies", "/audit", "/api/v1/agencies",
                                  "/api/v1/docs", "/no/such/page", "/healthz"])
def test_every_response_carries_the_headers(d: Deployment, path: str) -> None:
    response = d.browser().get(path, headers={"accept": "text/html"})
    policy = csp(response)
    assert policy["script-src"] == ["'self'"]  # no inline script, no eval
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers  # plain http here


def test_pages_with_personal_data_are_not_stored(d: Deployment) -> None:
    resident = d.signed_in("resident_a")
    for path in ("/account", "/cameras", "/clips", "/inbox", "/api/v1/me"):
        assert resident.get(path).headers["cache-control"] == "no-store", path


def test_static_files_may_be_cached(d: Deployment) -> None:
    response = d.browser().get("/static/style.css")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_https_deployments_send_hsts(settings: Settings) -> None:
    d = build_deployment(settings.model_copy(update={"base_url": "https://porchlight.example"}))
    response = d.browser(base_url="https://testserver").get("/")
    assert response.headers["strict-transport-security"].startswith("max-age=63072000")


def test_swagger_ui_comes_from_the_installed_package(d: Deployment) -> None:
    browser = d.browser()
    page = browser.get("/api/v1/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("http://testserver/") for s in sources)  # this origin
    for source in sources:
        assert browser.get(source).status_code == 200, source
    assert "<script>" not in page


def test_no_template_carries_inline_script_or_style() -> None:
    """The CSP would block them: every script is a file, every style is in style.css."""
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name  # onclick=, onload=
        assert not re.search(r"\sstyle\s*=", text), template.name
        assert "<style" not in text, template.name
        assert "javascript:" not in text, template.name


def test_the_tile_server_is_the_only_other_image_origin() -> None:
    policy = content_security_policy("https://{s}.tile.example.org/{z}/{x}/{y}.png")
    images = next(p for p in policy.split("; ") if p.startswith("img-src")).split()[1:]
    assert images == ["'self'", "data:", "blob:", "https://*.tile.example.org"]
    assert "tile.example" not in policy.replace(images[-1], "")
    assert "https://" not in content_security_policy(None)
