"""The JSON API against its own OpenAPI document, checked by schemathesis in-process.

Every operation of ``/api/v1/openapi.json`` runs for five callers: anonymous, resident A
with a personal API token (Bearer, so no CSRF), an officer of agency X signed in with a
cookie and the CSRF header, the platform admin with an API token, and resident A's camera
with its device token. Signed-in callers get the ids of things they own or may see in the
path (a camera, a delivery, a request, an agency), so requests reach the code behind
authorisation; the anonymous caller gets what schemathesis draws.

Per operation: schemathesis' coverage cases (each bound met and broken, missing and extra
parameters, malformed bodies, methods the path lacks) and EXAMPLES generated cases, seeded
and derandomised so every run sends the same requests. The checks: no 5xx, every status
documented, content types and bodies as documented, schema-invalid input refused, methods
the path lacks answered 405 with ``Allow`` and OPTIONS naming every method, and — where the
schema can say everything the server checks — schema-valid input not refused with 400/422.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import checks

from porchlight.accounts.domain.auth import ApiScope
from porchlight.accounts.services import tokens
from porchlight.config import Settings
from porchlight.entrypoints.app import create_app
from porchlight.entrypoints.auth import CSRF_COOKIE, SESSION_COOKIE
from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.requests.services import answers, video_requests
from porchlight.requests.services.commands import CreateVideoRequest
from tests.e2e import support

EXAMPLES = 12
SEED = 20261102
CALLERS = ("anonymous", "resident", "officer", "admin", "device")
# Operations whose input has rules no schema can state: the scope policy and windows of a
# request, a justification measured after whitespace collapses, the clips of one
# disclosure, and a body that must be a real video. Schema-valid input can get 415/422.
BEYOND_THE_SCHEMA = frozenset({
    "POST /api/v1/requests",
    "POST /api/v1/requests/{request_id}/approve",
    # a hold's end date lies between now and the deployment's longest retention from now
    "POST /api/v1/requests/{request_id}/holds",
    "POST /api/v1/inbox/{delivery_id}/consent",
    "POST /api/v1/cameras/{camera_id}/clips",
    # the radius cap is the deployment's policy (650 m by default), not a schema constant
    "GET /api/v1/requests/reach",
    # a legal demand names a verified agency, existing cameras or accounts, a range in the
    # past and a delay only for a warrant or court order: facts of the database and the day
    "POST /api/v1/admin/legal-demands",
    # the feed's cursor is opaque (only one the feed gave is accepted); a post names one of
    # the caller's own clips, a part of it within its length and a title measured after
    # whitespace collapses; a public-safety post's area is a real place
    "GET /api/v1/feed",
    "POST /api/v1/feed/posts",
    "POST /api/v1/feed/public-safety",
})
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.unsupported_method,
    checks.allow_header_conformance,
]
CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
})

# The upload's body is raw video bytes, sent as they are.
schemathesis.serializer.alias(["video/mp4", "video/webm"], "application/octet-stream")


def _document() -> dict[str, Any]:
    """The app's OpenAPI document; the schema is needed when tests are collected."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(env="test", data_dir=Path(folder)))
        try:
            return app.openapi()
        finally:
            app.state.container.close()


schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)


@dataclass
class Caller:
    name: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class Site:
    deployment: support.Deployment
    ids: dict[str, str]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The cast of support.py, a clip of resident A's, and a request that reached them."""
    folder = tmp_path_factory.mktemp("conformance")
    d = support.build_deployment(Settings(env="test", data_dir=folder / "var"))
    with d.container.uow() as uow:
        uow.agencies.get(d.agency_x).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    clip = make_demo_clip(folder / "clip.mp4", seconds=1, width=320, height=180)
    camera_id, _ = support.add_camera_with_clips(
        d, "resident_a", support.HOME_A, [clip], [timedelta(hours=2, minutes=30)])
    request_id = video_requests.create_request(
        d.container.uow(), d.container.requests_kit, support.actor(d, "officer_x"),
        CreateVideoRequest(support.draft(d)))
    [item] = answers.inbox(d.container.uow(), support.actor(d, "resident_a"))
    yield Site(d, {"camera_id": str(camera_id), "agency_id": str(d.agency_x),
                   "request_id": str(request_id), "delivery_id": str(item.delivery.id)})
    d.container.close()


@pytest.fixture(scope="module", params=CALLERS)
def caller(request: pytest.FixtureRequest, site: Site) -> Caller:
    return CALLER_FACTORIES[request.param](site)


def _anonymous(site: Site) -> Caller:
    return Caller("anonymous")


def _api_token(site: Site, person: str) -> dict[str, str]:
    issued = tokens.create_api_token(site.deployment.container.uow(),
                                     site.deployment.people[person].id, "conformance",
                                     [ApiScope.READ, ApiScope.WRITE])
    return {"authorization": f"Bearer {issued.token}"}


def _resident(site: Site) -> Caller:
    ids = {k: site.ids[k] for k in ("camera_id", "delivery_id")}
    return Caller("resident", headers=_api_token(site, "resident_a"), values=ids)


def _admin(site: Site) -> Caller:
    return Caller("admin", headers=_api_token(site, "platform_admin"),
                  values={"agency_id": site.ids["agency_id"]})


def _officer(site: Site) -> Caller:
    browser = site.deployment.signed_in("officer_x")
    cookies = {name: browser.cookies.get(name) for name in (SESSION_COOKIE, CSRF_COOKIE)}
    ids = {k: site.ids[k] for k in ("agency_id", "request_id")}
    return Caller("officer", headers={"x-csrf-token": browser.csrf()}, cookies=cookies,
                  values=ids)


def _device(site: Site) -> Caller:
    d = site.deployment
    issued = tokens.rotate_device_token(d.container.uow(), support.actor(d, "resident_a"),
                                        d.camera_a)
    recorded_at = (d.clock.now() - timedelta(hours=1)).isoformat()  # within retention
    return Caller("device", headers={"authorization": f"Bearer {issued.token}"},
                  values={"camera_id": str(d.camera_a), "recorded_at": recorded_at})


CALLER_FACTORIES = {"anonymous": _anonymous, "resident": _resident, "officer": _officer,
                    "admin": _admin, "device": _device}


def _use_known_values(case: schemathesis.Case, values: dict[str, str]) -> None:
    """Put the caller's own ids in the path (and known values in the query), except where
    this case is about a bad path or query."""
    for location, container in (("path", case.path_parameters), ("query", case.query)):
        component = case.meta.components.get(location) if case.meta else None
        if not container or (component and component.mode.is_negative):
            continue
        for name in container.keys() & values.keys():
            container[name] = values[name]


@schema.parametrize()
def test_the_api_answers_as_its_schema_says(
    case: schemathesis.Case, caller: Caller, site: Site
) -> None:
    _use_known_values(case, caller.values)
    beyond = f"{case.operation.method.upper()} {case.operation.path}" in BEYOND_THE_SCHEMA
    case.call_and_validate(
        headers=caller.headers, cookies=caller.cookies, app=site.deployment.app,
        base_url="http://testserver",
        checks=CHECKS if beyond else [*CHECKS, checks.positive_data_acceptance])
