"""The web app through its HTTP interface: pages, JSON API, errors, request ids, logs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

HTML = {"accept": "text/html"}


def test_healthz_checks_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_says_503_when_the_database_does_not_answer(client: TestClient) -> None:
    from sqlalchemy import create_engine

    from porchlight.kernel.adapters.db.health import DatabaseHealth

    container = client.app.state.container
    container.health = DatabaseHealth(create_engine("sqlite:////nonexistent/dir/porchlight.db"))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}


def test_landing_page_shows_totals_but_no_person(client: TestClient) -> None:
    response = client.get("/", headers=HTML)
    assert response.status_code == 200
    page = response.text
    assert 'data-testid="residents">1<' in page
    assert 'data-testid="cameras">2<' in page
    assert 'data-testid="opted-in">1<' in page
    assert "Secret Person" not in page
    assert "secret.person@example.org" not in page
    assert "/static/style.css" in page and "cdn" not in page.lower()


def test_static_files_are_served_locally(client: TestClient) -> None:
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


def test_agencies_page_and_api_list_the_verified_agency(client: TestClient) -> None:
    assert "Metro Police" in client.get("/agencies", headers=HTML).text
    [agency] = client.get("/api/v1/agencies").json()
    assert agency["name"] == "Metro Police"
    assert agency["kind"] == "municipal_police"
    assert agency["verified"] is True


def test_neighbourhood_api_counts(client: TestClient) -> None:
    assert client.get("/api/v1/neighbourhood").json() == {
        "residents": 1, "cameras": 2, "cameras_opted_in": 1, "agencies": 1,
    }


def test_openapi_document_lists_the_api(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "Porchlight"
    assert {"/api/v1/agencies", "/api/v1/neighbourhood", "/healthz"} <= set(spec["paths"])
    assert "/" not in spec["paths"]  # pages are not API


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/nothing-here"])
def test_unknown_routes_get_the_json_error_body(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not Found"}}


def test_browsers_get_an_error_page(client: TestClient) -> None:
    response = client.get("/nothing-here", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "404" in response.text and 'role="alert"' in response.text


def test_wrong_method_is_a_json_error(client: TestClient) -> None:
    response = client.put("/api/v1/neighbourhood")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_request_id_is_kept_when_well_formed_and_replaced_otherwise(client: TestClient) -> None:
    kept = client.get("/healthz", headers={"x-request-id": "abcdef12-trace"})
    assert kept.headers["x-request-id"] == "abcdef12-trace"
    replaced = client.get("/healthz", headers={"x-request-id": "bad id\nwith newline"})
    assert replaced.headers["x-request-id"] != "bad id\nwith newline"
    assert len(replaced.headers["x-request-id"]) == 32


def test_request_logs_carry_the_route_not_the_query(
    populated, capsys: pytest.CaptureFixture[str]
) -> None:
    from porchlight.entrypoints.app import create_app

    with TestClient(create_app(container=populated)) as client:
        client.get("/api/v1/agencies?email=secret.person@example.org",
                   headers={"x-request-id": "trace-12345"})
    logged = capsys.readouterr().err
    assert "trace-12345" in logged
    assert "/api/v1/agencies" in logged
    assert "secret.person" not in logged
    assert "testclient" not in logged  # no client address


def test_the_site_has_a_favicon(client: TestClient) -> None:
    page = client.get("/", headers=HTML).text
    assert '<link rel="icon" href="http://testserver/static/favicon.svg" type="image/svg+xml">' \
        in page
    icon = client.get("/favicon.ico")  # what browsers ask for unprompted
    assert icon.status_code == 200 and icon.url.path == "/static/favicon.svg"
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.startswith(b"<svg") and b"<script" not in icon.content
    assert client.get("/favicon.ico", follow_redirects=False).status_code == 301
    # each page's links are on its own request's base (the path is looked up once)
    other = client.get("/agencies", headers={**HTML, "host": "porch.example:8080"}).text
    assert 'href="http://porch.example:8080/static/favicon.svg"' in other
    assert 'href="http://testserver/static/style.css"' in client.get("/", headers=HTML).text


def test_a_browser_gets_its_csrf_nonce_once_on_any_answer(client: TestClient) -> None:
    """The nonce cookie comes with the first answer, whatever it is (a page, a 404, an API
    error), HttpOnly and SameSite=Lax; a browser that sends a well-formed one keeps it."""
    for path in ("/", "/no-such-page", "/api/v1/me/clips"):
        client.cookies.clear()
        answer = client.get(path, headers=HTML)
        [cookie] = [v for k, v in answer.headers.multi_items() if k == "set-cookie"]
        name, _, rest = cookie.partition("=")
        nonce = rest.split(";")[0]
        assert name == "pl_csrf" and 20 <= len(nonce) <= 64, cookie
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    again = client.get("/", headers=HTML)
    assert "set-cookie" not in again.headers
    client.cookies.clear()
    malformed = client.get("/", headers={**HTML, "cookie": "pl_csrf=bad"})
    assert malformed.headers["set-cookie"].startswith("pl_csrf=")
