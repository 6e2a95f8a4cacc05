"""JSON bodies: what the OpenAPI document says about them is what the server does.

A body that is not JSON is a 400 that every JSON-body operation documents; JSON that breaks
the schema is a 422.
"""

from __future__ import annotations

import pytest

from porchlight.config import Settings
from porchlight.domain.auth import ApiScope
from porchlight.services import tokens
from tests.e2e.support import Browser, Deployment, build_deployment

ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


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
