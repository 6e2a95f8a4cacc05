"""Every route, for every kind of caller, with the expected allow or deny.

The test fails when the app has a route that has no row here, so a new route cannot
ship without a decision about who may call it. Mutating requests run against a fresh
copy of the seeded database, so no row can change what another row sees.

A denial is 401, 403 or 404. Anything else below 500 counts as allowed: the caller got
past authorisation (a 409 or 422 there is a business answer, not an access decision).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from porchlight import bootstrap
from porchlight.adapters.clock import FixedClock
from porchlight.adapters.db import tables
from porchlight.config import Settings
from porchlight.entrypoints.app import ROUTERS, create_app
from porchlight.entrypoints.auth import CSRF_COOKIE, SESSION_COOKIE
from tests.e2e import support

ACTORS = ("anonymous", "resident_a", "resident_b", "officer_x", "supervisor_x", "admin_x",
          "officer_y", "platform_admin", "disabled")
EVERYONE = frozenset(ACTORS)
SIGNED_IN = EVERYONE - {"anonymous", "disabled"}
RESIDENTS = frozenset({"resident_a", "resident_b"})
OWNER = frozenset({"resident_a"})
X_ADMINS = frozenset({"admin_x", "platform_admin"})
PLATFORM = frozenset({"platform_admin"})
NOBODY: frozenset[str] = frozenset()
BOGUS = "bogus-link-token.AAAAAAAAAAAAAAAAAAAAAA"
NEW_PASSWORD = "matrix long passphrase 3"


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    allowed: frozenset[str]
    form: dict | None = None
    json: dict | None = None

    @property
    def mutates(self) -> bool:
        return self.method not in ("GET", "HEAD")


CAMERA_FORM = {"name": "Matrix cam", "lat": "45.51", "lon": "-122.65"}
ROWS = [
    # public pages and documents
    Row("GET", "/", EVERYONE),
    Row("GET", "/agencies", EVERYONE),
    Row("GET", "/healthz", EVERYONE),
    Row("GET", "/api/v1/openapi.json", EVERYONE),
    Row("GET", "/api/v1/docs", EVERYONE),
    Row("GET", "/docs/oauth2-redirect", EVERYONE),
    Row("GET", "/api/v1/neighbourhood", EVERYONE),
    Row("GET", "/api/v1/agencies", EVERYONE),
    # joining, signing in, recovering: open to all
    Row("GET", "/register", EVERYONE),
    Row("POST", "/register", EVERYONE, form={
        "email": "matrix@example.org", "display_name": "Matrix", "password": NEW_PASSWORD,
        "home_lat": "45.5", "home_lon": "-122.6"}),
    Row("GET", "/signin", EVERYONE),
    Row("POST", "/signin", EVERYONE, form={"email": "resident_b@example.org",
                                           "password": support.PASSWORD}),
    Row("GET", "/verify-email/{token}", EVERYONE),
    Row("GET", "/password/forgot", EVERYONE),
    Row("POST", "/password/forgot", EVERYONE, form={"email": "resident_a@example.org"}),
    Row("GET", "/password/reset/{token}", EVERYONE),
    Row("POST", "/password/reset/{token}", EVERYONE, form={"password": NEW_PASSWORD}),
    Row("GET", "/invite/{token}", EVERYONE),
    Row("POST", "/invite/{token}", EVERYONE, form={"password": NEW_PASSWORD}),
    Row("GET", "/dev/mail", NOBODY),  # development deployments only
    # any session, including one still owing its second step
    Row("GET", "/signin/mfa", SIGNED_IN),
    Row("POST", "/signin/mfa", SIGNED_IN, form={"code": "000000"}),
    Row("POST", "/signout", SIGNED_IN),
    Row("GET", "/account/mfa", SIGNED_IN),
    Row("POST", "/account/mfa/start", SIGNED_IN),
    Row("POST", "/account/mfa/confirm", SIGNED_IN, form={"code": "000000"}),
    # one's own account
    Row("GET", "/account", SIGNED_IN),
    Row("GET", "/api/v1/me", SIGNED_IN),
    Row("POST", "/account/password", SIGNED_IN,
        form={"current": support.PASSWORD, "password": NEW_PASSWORD}),
    Row("POST", "/account/tokens", SIGNED_IN, form={"name": "matrix", "scopes": "read"}),
    Row("POST", "/account/mfa/recovery-codes", SIGNED_IN),
    Row("POST", "/account/mfa/disable", SIGNED_IN),
    Row("POST", "/account/sessions/{session_id}/end", OWNER),
    Row("POST", "/account/tokens/{token_id}/revoke", OWNER),
    # cameras: residents, and only the owner for one camera
    Row("GET", "/cameras", RESIDENTS),
    Row("POST", "/cameras", RESIDENTS, form=CAMERA_FORM),
    Row("POST", "/cameras/{camera_id}/opt-in", OWNER, form={"opted_in": "true"}),
    Row("POST", "/cameras/{camera_id}/device-token", OWNER),
    Row("POST", "/cameras/{camera_id}/device-token/revoke", OWNER),
    Row("GET", "/api/v1/me/cameras", RESIDENTS),
    Row("POST", "/api/v1/me/cameras", RESIDENTS,
        json={"name": "Matrix cam", "lat": 45.51, "lon": -122.65}),
    Row("PATCH", "/api/v1/cameras/{camera_id}", OWNER, json={"opted_in": False}),
    # agency staff management: that agency's admins and platform admins
    Row("GET", "/agency", frozenset({"admin_x"})),
    Row("GET", "/agencies/{agency_id}/staff", X_ADMINS),
    Row("POST", "/agencies/{agency_id}/staff", X_ADMINS, form={
        "email": "newhire@agency.example", "display_name": "New Hire", "role": "officer"}),
    Row("GET", "/api/v1/agencies/{agency_id}/staff", X_ADMINS),
    Row("POST", "/accounts/{account_id}/role", X_ADMINS, form={"role": "supervisor"}),
    Row("POST", "/accounts/{account_id}/disable", X_ADMINS),
    Row("POST", "/accounts/{account_id}/unlock", X_ADMINS),
    # platform administration
    Row("GET", "/admin/agencies", PLATFORM),
    Row("POST", "/admin/agencies", PLATFORM, form={
        "name": "Matrix Fire", "kind": "fire_ems", "center_lat": "45.5",
        "center_lon": "-122.6", "radius_m": "5000"}),
    Row("POST", "/admin/agencies/{agency_id}/verify", PLATFORM),
    Row("POST", "/api/v1/agencies", PLATFORM, json={
        "name": "Matrix State", "kind": "state", "center_lat": 45.5, "center_lon": -122.6,
        "radius_m": 90000}),
]


@dataclass
class Seeded:
    folder: Path
    settings: Settings
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    folder = tmp_path_factory.mktemp("matrix")
    settings = Settings(env="test", data_dir=folder / "var")
    d = support.build_deployment(settings)
    seeded = Seeded(folder=folder, settings=settings)
    for actor in ACTORS:
        browser = d.browser()
        if actor != "anonymous":
            browser.sign_in(d.people[actor])
        seeded.cookies[actor] = dict(browser.cookies.items())
        seeded.csrf[actor] = browser.csrf()
    support.disable(d, "disabled")
    resident_a = d.signed_in("resident_a")
    resident_a.submit("/account/tokens", {"name": "a's token", "scopes": "read"})
    with d.container.engine.connect() as connection:
        session_id = connection.execute(select(tables.sessions.c.id).where(
            tables.sessions.c.account_id == d.people["resident_a"].id)).scalars().first()
        token_id = connection.execute(select(tables.api_tokens.c.id)).scalar_one()
    seeded.params = {"camera_id": str(d.camera_a), "agency_id": str(d.agency_x),
                     "account_id": str(d.people["officer_x"].id), "session_id": str(session_id),
                     "token_id": str(token_id), "token": BOGUS}
    d.container.close()
    yield seeded


class Site:
    """The seeded deployment, or a private copy of it for a request that changes things."""

    def __init__(self, seeded: Seeded, *, copy: bool, workdir: Path) -> None:
        data = seeded.settings.data_dir
        if copy:
            data = workdir / "var"
            shutil.copytree(seeded.settings.data_dir, data)
        settings = seeded.settings.model_copy(update={"data_dir": data})
        clock = FixedClock(support.T0)
        clock.advance(support.timedelta(minutes=10))
        self.container = bootstrap.build(settings, clock=clock, mailer=support.RecordingMailer())
        self.app = create_app(container=self.container)

    def request(self, seeded: Seeded, actor: str, row: Row):
        client = TestClient(self.app)
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            if name in seeded.cookies[actor]:
                client.cookies.set(name, seeded.cookies[actor][name])
        path = row.path.format(**seeded.params)
        headers = {"x-csrf-token": seeded.csrf[actor]} if row.json is not None else {}
        form = {**row.form, "csrf_token": seeded.csrf[actor]} if row.form else None
        if row.mutates and form is None and row.json is None:
            form = {"csrf_token": seeded.csrf[actor]}
        return client.request(row.method, path, data=form, json=row.json, headers=headers,
                              follow_redirects=False)


def _app_routes() -> set[tuple[str, str]]:
    found = set()
    for router in ROUTERS:
        for route in router.routes:
            for method in getattr(route, "methods", set()) - {"HEAD"}:
                found.add((method, route.path))
    found |= {("GET", "/healthz"), ("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/docs"),
              ("GET", "/docs/oauth2-redirect")}
    return found


def test_every_route_has_a_row() -> None:
    rows = {(row.method, row.path) for row in ROWS}
    missing = _app_routes() - rows
    assert not missing, f"routes with no authorisation row: {sorted(missing)}"
    stale = rows - _app_routes()
    assert not stale, f"rows for routes that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.method} {r.path}" for r in ROWS])
def test_route_allows_exactly_the_expected_callers(
    seeded: Seeded, row: Row, tmp_path: Path
) -> None:
    shared = None if row.mutates else Site(seeded, copy=False, workdir=tmp_path)
    outcomes = {}
    for actor in ACTORS:
        site = shared or Site(seeded, copy=True, workdir=tmp_path / actor)
        response = site.request(seeded, actor, row)
        assert response.status_code < 500, (actor, response.text[:300])
        outcomes[actor] = response.status_code
        if site is not shared:
            site.container.close()
    allowed = {actor for actor, status in outcomes.items() if status not in (401, 403, 404)}
    assert allowed == set(row.allowed), outcomes
    if shared:
        shared.container.close()


def test_denials_do_not_reveal_whether_an_object_exists(seeded: Seeded, tmp_path: Path) -> None:
    site = Site(seeded, copy=False, workdir=tmp_path)
    real = Row("PATCH", "/api/v1/cameras/{camera_id}", OWNER, json={"opted_in": True})
    ghost = Row("PATCH", "/api/v1/cameras/00000000-0000-4000-8000-000000000000", OWNER,
                json={"opted_in": True})
    for actor in ("resident_b", "officer_x", "platform_admin"):
        first, second = site.request(seeded, actor, real), site.request(seeded, actor, ghost)
        assert (first.status_code, first.json()) == (second.status_code, second.json())
    site.container.close()
