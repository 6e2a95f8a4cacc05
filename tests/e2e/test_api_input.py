"""JSON bodies: what the OpenAPI document says about them is what the server does.

A body that is not JSON is a 400 that every JSON-body operation documents; JSON that breaks
the schema is a 422; numbers and flags are taken as JSON types, not coerced from strings;
text fields the domain would find empty are refused by the schema too.
"""

from __future__ import annotations

import pytest

from porchlight.accounts.domain.auth import ApiScope
from porchlight.accounts.services import tokens
from porchlight.config import Settings
from tests.e2e.support import Browser, Deployment, actor, build_deployment

ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
CAMERA = {"name": "Porch", "lat": 45.5, "lon": -122.6}


@pytest.fixture
def d(settings: Settings) -> Deployment:
    return build_deployment(settings)


def resident(d: Deployment) -> Browser:
    """Resident A with a personal API token (a Bearer token needs no CSRF header)."""
    issued = tokens.create_api_token(d.container.uow(), d.people["resident_a"].id, "test",
                                     [ApiScope.READ, ApiScope.WRITE])
    browser = d.browser()
    browser.headers["authorization"] = f"Bearer {issued.token}"
    return browser


@pytest.mark.parametrize("body", [b'{"name": "Porch",', b"\xff\xfe{}", b"not json"])
def test_a_body_that_is_not_json_is_a_documented_400(d: Deployment, body: bytes) -> None:
    response = resident(d).post("/api/v1/me/cameras", content=body,
                                headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("headers", [{"content-type": "application/json"}, {}])
def test_an_empty_body_is_the_same_documented_400(d: Deployment, headers: dict) -> None:
    """No body at all where one is required: as malformed as a cut-off one, and answered so."""
    for path in ("/api/v1/me/cameras", f"/api/v1/cameras/{d.camera_a}"):
        method = "post" if path.endswith("cameras") else "patch"
        response = getattr(resident(d), method)(path, content=b"", headers=headers)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"] == {"code": "bad_request",
                                            "message": "the body is empty: send a JSON object"}
    documented = d.browser().get("/api/v1/openapi.json").json()["paths"]["/api/v1/me/cameras"]
    assert "empty" in documented["post"]["responses"]["400"]["description"]


def test_json_that_breaks_the_schema_is_a_422(d: Deployment) -> None:
    response = resident(d).post("/api/v1/me/cameras", json=["Porch", 45.5, -122.6])
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid")


def test_every_operation_with_a_json_body_documents_its_400(d: Deployment) -> None:
    paths = d.browser().get("/api/v1/openapi.json").json()["paths"]
    operations = [op for ops in paths.values() for op in ops.values()]
    with_json = [op for op in operations
                 if "application/json" in op.get("requestBody", {}).get("content", {})]
    assert len(with_json) >= 6
    for op in with_json:
        assert op["responses"]["400"]["content"]["application/json"]["schema"] == ERROR_BODY
    assert not any("400" in op["responses"] for op in operations if op not in with_json)


@pytest.mark.parametrize("change", [
    {"opted_in": 0}, {"opted_in": "true"}, {"lat": "45.5"}, {"retention_days": 45},
    {"retention_days": "60"}, {"name": "   "}, {"name": "\x1f\x1f"}, {"name": "x" * 61},
])
def test_what_the_schema_refuses_the_server_refuses(d: Deployment, change: dict) -> None:
    api = resident(d)
    before = api.get("/api/v1/me/cameras").json()
    response = api.post("/api/v1/me/cameras", json={**CAMERA, **change})
    assert response.status_code == 422, response.text
    assert api.get("/api/v1/me/cameras").json() == before  # and nothing was made


def test_what_the_schema_accepts_the_server_accepts(d: Deployment) -> None:
    api = resident(d)
    made = api.post("/api/v1/me/cameras", json={**CAMERA, "name": " Side\tgate ", "lat": 45,
                                                "opted_in": True, "retention_days": 180})
    assert made.status_code == 201, made.text
    assert (made.json()["name"], made.json()["retention_days"]) == ("Side gate", 180)
    patched = api.patch(f"/api/v1/cameras/{made.json()['id']}", json={"opted_in": False})
    assert patched.json()["opted_in"] is False


def test_an_integer_may_be_written_with_a_zero_fraction(d: Deployment) -> None:
    admin = d.browser()
    issued = tokens.create_api_token(d.container.uow(), d.people["platform_admin"].id, "test",
                                     [ApiScope.READ, ApiScope.WRITE])
    admin.headers["authorization"] = f"Bearer {issued.token}"
    agency = {"name": "Fire", "kind": "fire_ems", "center_lat": 45.5, "center_lon": -122.6}
    made = admin.post("/api/v1/agencies", json={**agency, "radius_m": 5000.0})
    assert (made.status_code, made.json()["jurisdiction_radius_m"]) == (201, 5000)
    for radius in (5000.5, "5000", True, 99):
        refused = admin.post("/api/v1/agencies", json={**agency, "radius_m": radius})
        assert refused.status_code == 422, radius


def test_the_upload_documents_its_video_body_and_answers(d: Deployment) -> None:
    upload = d.browser().get("/api/v1/openapi.json").json()["paths"][
        "/api/v1/cameras/{camera_id}/clips"]["post"]
    body = upload["requestBody"]
    assert body["required"] and set(body["content"]) == {"video/mp4", "video/webm"}
    assert body["content"]["video/mp4"]["schema"] == {"type": "string", "format": "binary"}
    assert {"201", "401", "413", "415", "422"} <= upload["responses"].keys()
    recorded_at = next(p for p in upload["parameters"] if p["name"] == "recorded_at")
    assert recorded_at["schema"]["format"] == "date-time"  # RFC 3339: the offset is required
    device = tokens.rotate_device_token(d.container.uow(), actor(d, "resident_a"), d.camera_a)
    naive = d.browser().post(f"/api/v1/cameras/{d.camera_a}/clips", content=b"x",
                             params={"recorded_at": "2026-11-02T08:00:00"},
                             headers={"authorization": f"Bearer {device.token}"})
    assert naive.status_code == 422 and "recorded_at" in naive.json()["error"]["message"]


def test_a_json_body_over_the_cap_is_a_413_and_changes_nothing(d: Deployment) -> None:
    """Every body has a size cap (1 MiB by default); only a clip upload streams past it."""
    client = resident(d)
    before = client.get("/api/v1/me/cameras").json()
    oversized = {**CAMERA, "name": "Porch", "padding": "x" * (1024 * 1024)}
    response = client.post("/api/v1/me/cameras", json=oversized)
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "too_large", "message": "the request body is larger than the 1 MiB limit"}
    assert response.headers["connection"] == "close"
    assert client.get("/api/v1/me/cameras").json() == before


def test_a_body_streamed_past_the_cap_without_a_length_is_a_413(d: Deployment) -> None:
    def chunks():
        for _ in range(40):
            yield b" " * 32768  # 1.25 MiB of JSON whitespace, no Content-Length
    response = resident(d).post("/api/v1/me/cameras", content=chunks(),
                                headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["error"]["code"]) == (413, "too_large")


def test_the_cap_is_a_setting(settings: Settings) -> None:
    small = build_deployment(settings.model_copy(update={
        "storage": settings.storage.model_copy(update={"max_body_bytes": 64 * 1024})}))
    response = resident(small).post("/api/v1/me/cameras",
                                    json={**CAMERA, "name": "P" * (70 * 1024)})
    assert response.status_code == 413
    assert "64 KiB" in response.json()["error"]["message"]
    assert resident(small).post("/api/v1/me/cameras", json=CAMERA).status_code == 201
