"""Accounts end to end: registration, sign-in, lockout, sessions, MFA, CSRF, tokens, audit."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from porchlight.config import Settings
from porchlight.kernel.adapters.db import tables
from tests.e2e.support import (
    PASSWORD,
    Deployment,
    RecordingMailer,
    build_deployment,
    disable,
)

JSON = {"accept": "application/json"}


@pytest.fixture
def d(settings: Settings) -> Deployment:
    return build_deployment(settings)


def audit_kinds(d: Deployment) -> list[str]:
    with d.container.engine.connect() as connection:
        rows = connection.execute(select(tables.audit_events.c.kind)
                                  .order_by(tables.audit_events.c.id))
        return list(rows.scalars())


def audit_rows(d: Deployment, kind: str) -> list:
    with d.container.engine.connect() as connection:
        return connection.execute(
            select(tables.audit_events).where(tables.audit_events.c.kind == kind)).all()


def register(browser, email="new@example.org", password="a long unusual passphrase 42",
             address="12 Elm Street, Riverside"):
    return browser.submit("/register", {
        "email": email, "display_name": "New Neighbour", "password": password,
        "home_lat": "45.51", "home_lon": "-122.65", "postal_address": address,
    })


def test_registration_mails_a_link_and_keeps_the_address_encrypted(d: Deployment) -> None:
    browser = d.browser()
    response = register(browser)
    assert response.status_code == 200 and "Check your e-mail" in response.text
    link = d.mailer.last_link("new@example.org")
    assert link.startswith("http://127.0.0.1:8000/verify-email/")

    with d.container.engine.connect() as connection:
        row = connection.execute(select(tables.accounts).where(
            tables.accounts.c.email == "new@example.org")).one()
    assert b"Elm Street" not in row.postal_address_sealed
    assert row.email_verified_at is None
    assert row.password_hash.startswith("$argon2id$")

    path = link.removeprefix("http://127.0.0.1:8000")
    assert "confirmed" in browser.get(path).text
    assert "not valid" in browser.get(path).text or "already been used" in browser.get(path).text
    tampered = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    assert browser.get(tampered).status_code == 409

    browser.sign_in(type("P", (), {"email": "new@example.org",
                                   "password": "a long unusual passphrase 42",
                                   "totp_secret": None})())
    page = browser.get("/account", headers={"accept": "text/html"}).text
    assert "12 Elm Street, Riverside" in page
    assert "not confirmed" not in page


@pytest.mark.parametrize(("password", "reason"), [
    ("short", "at least 10"), ("password123", "common passwords"),
    ("qwertyuiop", "common passwords"), ("new@example.org", "e-mail"),
])
def test_weak_passwords_are_refused_and_nothing_is_stored(
    d: Deployment, password: str, reason: str
) -> None:
    before = audit_kinds(d)
    response = register(d.browser(), password=password)
    assert response.status_code == 422
    assert reason in response.text
    assert audit_kinds(d) == before
    assert d.mailer.sent == []


def test_five_failures_in_fifteen_minutes_lock_until_an_admin_unlocks(d: Deployment) -> None:
    officer = d.people["officer_x"]
    browser = d.browser()
    for _ in range(5):
        d.clock.advance(timedelta(minutes=2))
        bad = browser.submit("/signin", {"email": officer.email, "password": "wrong" * 3})
        assert bad.status_code == 401
    good = browser.submit("/signin", {"email": officer.email, "password": PASSWORD})
    assert good.status_code == 401  # locked: the right password does not help
    assert audit_kinds(d).count("account.locked") == 1

    # a locked staff account is not released by a password reset ...
    browser.submit("/password/forgot", {"email": officer.email})
    reset = d.mailer.last_link(officer.email).removeprefix("http://127.0.0.1:8000")
    browser.submit(reset, {"password": "another long passphrase 7"})
    assert browser.submit("/signin", {"email": officer.email,
                                      "password": "another long passphrase 7"}).status_code == 401
    # ... only by an admin
    admin = d.signed_in("admin_x")
    assert admin.submit(f"/accounts/{officer.id}/unlock").status_code == 303
    officer.password = "another long passphrase 7"
    d.browser().sign_in(officer)
    assert "account.unlocked" in audit_kinds(d)


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(d: Deployment) -> None:
    resident = d.people["resident_a"]
    browser = d.browser()
    for _ in range(8):
        d.clock.advance(timedelta(minutes=4))  # never five within any fifteen minutes
        browser.submit("/signin", {"email": resident.email, "password": "not the password"})
    browser.sign_in(resident)
    assert "account.locked" not in audit_kinds(d)


def test_a_residents_reset_link_releases_the_lock_once(d: Deployment) -> None:
    resident = d.people["resident_a"]
    browser = d.browser()
    for _ in range(5):
        browser.submit("/signin", {"email": resident.email, "password": "not the password"})
    assert "account.locked" in audit_kinds(d)
    browser.submit("/password/forgot", {"email": resident.email})
    path = d.mailer.last_link(resident.email).removeprefix("http://127.0.0.1:8000")
    assert browser.submit(path, {"password": "a brand new passphrase 9"}).status_code == 200
    assert browser.submit(path, {"password": "yet another passphrase 10"}).status_code == 422
    resident.password = "a brand new passphrase 9"
    d.browser().sign_in(resident)
    d.clock.advance(timedelta(hours=2))
    browser.submit("/password/forgot", {"email": resident.email})
    late = d.mailer.last_link(resident.email).removeprefix("http://127.0.0.1:8000")
    d.clock.advance(timedelta(minutes=61))
    expired = browser.submit(late, {"password": "too late passphrase 11"})
    assert expired.status_code == 422 and "expired" in expired.text


def test_unknown_address_gets_the_same_answer_and_no_mail(d: Deployment) -> None:
    browser = d.browser()
    known = browser.submit("/password/forgot", {"email": d.people["resident_a"].email})
    unknown = browser.submit("/password/forgot", {"email": "nobody@example.org"})
    assert known.text.replace("resident_a@example.org", "") == unknown.text.replace(
        "nobody@example.org", "")
    assert [m.to for m in d.mailer.sent] == [d.people["resident_a"].email]
    failed = browser.submit("/signin", {"email": "nobody@example.org", "password": "x" * 12})
    wrong = browser.submit("/signin", {"email": d.people["resident_a"].email,
                                       "password": "x" * 12})
    assert failed.status_code == wrong.status_code == 401
    assert re.search("role=\"alert\">(.*?)<", failed.text).group(1) == re.search(
        "role=\"alert\">(.*?)<", wrong.text).group(1)


def test_staff_sessions_end_after_thirty_idle_minutes(d: Deployment) -> None:
    browser = d.signed_in("officer_x")
    for _ in range(4):  # active every 29 minutes: stays signed in
        d.clock.advance(timedelta(minutes=29))
        assert browser.get("/api/v1/me").status_code == 200
    d.clock.advance(timedelta(minutes=30))
    assert browser.get("/api/v1/me").status_code == 401
    [ended] = audit_rows(d, "session.ended")
    assert ended.payload["reason"] == "idle_timeout"


def test_staff_sessions_end_after_twelve_hours_whatever_the_activity(d: Deployment) -> None:
    browser = d.signed_in("supervisor_x")
    for _ in range(24):
        d.clock.advance(timedelta(minutes=29))
        assert browser.get("/api/v1/me").status_code == 200
    d.clock.advance(timedelta(minutes=29))  # 12 h 05 min after sign-in, 29 min idle
    assert browser.get("/api/v1/me").status_code == 401
    assert audit_rows(d, "session.ended")[0].payload["reason"] == "absolute_timeout"


def test_residents_are_not_cut_off_after_thirty_minutes(d: Deployment) -> None:
    browser = d.signed_in("resident_a")
    d.clock.advance(timedelta(hours=3))
    assert browser.get("/api/v1/me").status_code == 200


def test_sign_out_ends_the_session_on_the_server(d: Deployment) -> None:
    browser = d.signed_in("resident_a")
    stolen = browser.cookies.get("pl_session")
    assert browser.submit("/signout").status_code == 303
    thief = d.browser()
    thief.cookies.set("pl_session", stolen)
    assert thief.get("/api/v1/me").status_code == 401


def test_staff_must_pass_the_second_step(d: Deployment) -> None:
    officer = d.people["officer_x"]
    browser = d.browser()
    first = browser.submit("/signin", {"email": officer.email, "password": PASSWORD})
    assert first.headers["location"].startswith("/signin/mfa")
    assert browser.get("/api/v1/me").status_code == 401  # password alone is not enough
    assert browser.submit("/signin/mfa", {"code": "000000"}).status_code == 422
    code = browser.totp(officer)
    assert browser.submit("/signin/mfa", {"code": code}).status_code == 303
    assert browser.get("/api/v1/me").json()["mfa_enabled"] is True
    replay = d.browser()
    replay.submit("/signin", {"email": officer.email, "password": PASSWORD})
    assert replay.submit("/signin/mfa", {"code": code}).status_code == 422  # used once
    assert [r.payload["reason"] for r in audit_rows(d, "signin.failed")] == [
        "bad_second_factor", "bad_second_factor"]


def test_invited_staff_must_enrol_mfa_before_anything_else(d: Deployment) -> None:
    admin = d.signed_in("admin_x")
    invited = admin.submit(f"/agencies/{d.agency_x}/staff", {
        "email": "rookie@agency.example", "display_name": "Rookie", "role": "officer"})
    assert invited.status_code == 303
    path = d.mailer.last_link("rookie@agency.example").removeprefix("http://127.0.0.1:8000")
    rookie = d.browser()
    assert rookie.submit(path, {"password": "rookie long passphrase 1"}).status_code == 200
    first = rookie.submit("/signin", {"email": "rookie@agency.example",
                                      "password": "rookie long passphrase 1"})
    assert first.headers["location"] == "/account/mfa"
    assert rookie.get("/api/v1/me").status_code == 401
    assert rookie.submit("/account/mfa/start").status_code == 303
    page = rookie.get("/account/mfa").text
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert "<svg" in page  # the QR code
    d.clock.advance(timedelta(seconds=30))
    done = rookie.submit("/account/mfa/confirm",
                         {"code": pyotp.TOTP(secret).at(d.clock.now())})
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", done.text)
    assert len(codes) == 10
    assert rookie.get("/api/v1/me").json()["staff_role"] == "officer"

    # a recovery code works once in place of the authenticator
    again = d.browser()
    again.submit("/signin", {"email": "rookie@agency.example",
                             "password": "rookie long passphrase 1"})
    assert again.submit("/signin/mfa", {"code": codes[0]}).status_code == 303
    third = d.browser()
    third.submit("/signin", {"email": "rookie@agency.example",
                             "password": "rookie long passphrase 1"})
    assert third.submit("/signin/mfa", {"code": codes[0]}).status_code == 422
    kinds = audit_kinds(d)
    assert {"mfa.enrolled", "mfa.recovery_codes_issued", "staff.role_changed"} <= set(kinds)


def test_staff_cannot_turn_mfa_off_but_residents_can(d: Deployment) -> None:
    officer = d.signed_in("officer_x")
    assert officer.submit("/account/mfa/disable").status_code == 422
    resident = d.signed_in("resident_a")
    assert resident.submit("/account/mfa/start").status_code == 303
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<',
                       resident.get("/account/mfa").text).group(1)
    resident.submit("/account/mfa/confirm", {"code": pyotp.TOTP(secret).at(d.clock.now())})
    assert resident.get("/api/v1/me").json()["mfa_enabled"] is True
    assert resident.submit("/account/mfa/disable").status_code == 303
    assert resident.get("/api/v1/me").json()["mfa_enabled"] is False


def test_forms_without_the_csrf_token_change_nothing(d: Deployment) -> None:
    browser = d.signed_in("resident_a")
    before = audit_kinds(d)
    data = {"name": "Sneaky", "lat": "45.5", "lon": "-122.6"}
    assert browser.post("/cameras", data=data).status_code == 403
    assert browser.post("/cameras", data={**data, "csrf_token": "0" * 64}).status_code == 403
    other = d.browser()  # a token minted for another browser does not fit this one
    assert browser.post("/cameras", data={**data, "csrf_token": other.csrf()}).status_code == 403
    cross = browser.submit("/cameras", data, headers={"origin": "https://evil.example"})
    assert cross.status_code == 403
    assert audit_kinds(d) == before
    assert browser.submit("/cameras", data).status_code == 303


def test_every_rendered_form_carries_the_csrf_token(d: Deployment) -> None:
    browser = d.signed_in("admin_x")
    for path in ("/account", f"/agencies/{d.agency_x}/staff", "/signin", "/register"):
        page = browser.get(path, headers={"accept": "text/html"}).text
        forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", page, flags=re.S)
        assert forms, path
        for form in forms:
            assert f'name="csrf_token" value="{browser.csrf()}"' in form, (path, form[:80])


def test_session_cookie_flags(settings: Settings) -> None:
    secure = settings.model_copy(update={"base_url": "https://porchlight.example.org"})
    d = build_deployment(secure)
    browser = d.browser("https://testserver")  # Secure cookies only travel over https
    response = browser.submit("/signin", {"email": d.people["resident_a"].email,
                                          "password": PASSWORD})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("pl_session=")
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(token) >= 32  # 256 random bits, url-safe base64
    with d.container.engine.connect() as connection:
        stored = connection.execute(select(tables.sessions.c.token_hash)).scalars().all()
    assert token not in stored and len(stored) == 1


def test_api_tokens_are_shown_once_scoped_and_revocable(d: Deployment) -> None:
    browser = d.signed_in("resident_a")
    created = browser.submit("/account/tokens", {"name": "script", "scopes": ["read"]})
    token = re.search(r'data-testid="secret">(plt_[\w-]+)<', created.text).group(1)
    assert token not in browser.get("/account", headers={"accept": "text/html"}).text
    with d.container.engine.connect() as connection:
        assert token not in str(connection.execute(select(tables.api_tokens)).all())

    api = d.browser()
    auth = {"authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=auth).json()["email"] == "resident_a@example.org"
    refused = api.post("/api/v1/me/cameras", headers=auth,
                       json={"name": "Side", "lat": 45.5, "lon": -122.6})
    assert refused.status_code == 403 and "write" in refused.json()["error"]["message"]

    [row] = audit_rows(d, "api_token.created")
    browser.submit(f"/account/tokens/{row.payload['token_id']}/revoke")
    assert api.get("/api/v1/me", headers=auth).status_code == 401
    assert "api_token.revoked" in audit_kinds(d)


def test_a_write_token_can_register_a_camera_without_csrf(d: Deployment) -> None:
    browser = d.signed_in("resident_b")
    created = browser.submit("/account/tokens", {"name": "cli", "scopes": ["read", "write"]})
    token = re.search(r'data-testid="secret">(plt_[\w-]+)<', created.text).group(1)
    api = d.browser()
    made = api.post("/api/v1/me/cameras", headers={"authorization": f"Bearer {token}"},
                    json={"name": "Side gate", "lat": 45.5141, "lon": -122.6601})
    assert made.status_code == 201 and made.json()["opted_in"] is False


def test_device_tokens_are_upload_only(d: Deployment) -> None:
    browser = d.signed_in("resident_a")
    issued = browser.submit(f"/cameras/{d.camera_a}/device-token")
    token = re.search(r'data-testid="secret">(pld_[\w-]+)<', issued.text).group(1)
    api = d.browser()
    for method, path in (("GET", "/api/v1/me"), ("GET", "/api/v1/me/cameras")):
        response = api.request(method, path, headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 403
    replaced = browser.submit(f"/cameras/{d.camera_a}/device-token")
    assert replaced.status_code == 200
    assert audit_kinds(d).count("device_token.revoked") == 1


def test_disabling_staff_ends_their_sessions_at_once(d: Deployment) -> None:
    officer = d.signed_in("officer_x")
    admin = d.signed_in("admin_x")
    assert admin.submit(f"/accounts/{d.people['officer_x'].id}/disable").status_code == 303
    assert officer.get("/api/v1/me").status_code == 401
    assert "account.disabled" in audit_kinds(d)
    again = d.browser()
    assert again.submit("/signin", {"email": d.people["officer_x"].email,
                                    "password": PASSWORD}).status_code == 401


def test_agency_admins_manage_only_their_own_staff(d: Deployment) -> None:
    admin = d.signed_in("admin_x")
    other = d.people["officer_y"]
    mine = d.people["officer_x"]
    assert admin.submit(f"/accounts/{other.id}/disable").status_code == 404
    assert admin.submit(f"/accounts/{mine.id}/role", {"role": "supervisor"}).status_code == 303
    staff = admin.get(f"/api/v1/agencies/{d.agency_x}/staff").json()
    assert {p["role"] for p in staff if p["id"] == str(mine.id)} == {"supervisor"}
    assert admin.get(f"/api/v1/agencies/{d.agency_y}/staff").status_code == 403


def test_sign_in_audit_events_hold_no_personal_data(d: Deployment) -> None:
    d.browser().submit("/signin", {"email": "stranger@example.org", "password": "x" * 12})
    d.signed_in("officer_x")
    disable(d, "disabled")
    with d.container.engine.connect() as connection:
        dump = str(connection.execute(select(tables.audit_events)).all())
    for person in d.people.values():
        assert person.email not in dump
    assert "stranger" not in dump and PASSWORD not in dump
    assert {"signin.failed", "signin.succeeded", "account.disabled"} <= set(audit_kinds(d))


def test_a_lock_stops_second_steps_on_sessions_opened_before_it(d: Deployment) -> None:
    """Pre-opened password-only sessions must not give an attacker more code guesses."""
    officer = d.people["officer_x"]
    waiting = [d.browser() for _ in range(3)]
    for browser in waiting:
        browser.submit("/signin", {"email": officer.email, "password": PASSWORD})
    guesser = d.browser()
    guesser.submit("/signin", {"email": officer.email, "password": PASSWORD})
    for _ in range(5):
        guesser.submit("/signin/mfa", {"code": "000000"})
    assert "account.locked" in audit_kinds(d)
    for browser in waiting:
        code = browser.totp(officer)
        assert browser.submit("/signin/mfa", {"code": code}).status_code in (401, 422)
        assert browser.get("/api/v1/me").status_code == 401


def test_wrong_codes_keep_counting_across_correct_passwords(d: Deployment) -> None:
    """A right password must not wipe the wrong second-step codes sent before it."""
    officer = d.people["officer_x"]
    for _ in range(3):  # 3 x (right password, 2 wrong codes): six failures in all
        browser = d.browser()
        assert browser.submit("/signin", {"email": officer.email,
                                          "password": PASSWORD}).status_code == 303
        for _ in range(2):
            browser.submit("/signin/mfa", {"code": "000000"})
        d.clock.advance(timedelta(minutes=1))
    assert audit_kinds(d).count("account.locked") == 1
    late = d.browser()
    late.submit("/signin", {"email": officer.email, "password": PASSWORD})
    assert late.submit("/signin/mfa", {"code": late.totp(officer)}).status_code in (401, 422)
    assert late.get("/api/v1/me").status_code == 401


def test_a_complete_sign_in_forgives_earlier_failures(d: Deployment) -> None:
    officer = d.people["officer_x"]
    for _ in range(4):
        d.browser().submit("/signin", {"email": officer.email, "password": "wrong password!"})
    d.signed_in("officer_x")  # password and code: a complete sign-in
    for _ in range(4):
        d.browser().submit("/signin", {"email": officer.email, "password": "wrong password!"})
    assert "account.locked" not in audit_kinds(d)


def test_registering_a_taken_address_looks_the_same_and_warns_its_owner(d: Deployment) -> None:
    fresh = register(d.browser(), email="brand.new@example.org")
    taken = register(d.browser(), email="resident_a@example.org")
    assert taken.status_code == fresh.status_code == 200
    assert taken.text.replace("resident_a@example.org", "") == fresh.text.replace(
        "brand.new@example.org", "")
    assert d.mailer.sent[-1].to == "resident_a@example.org"
    assert "already has one" in d.mailer.sent[-1].body
    assert audit_kinds(d).count("account.created") == len(d.people) + 1  # only brand.new


def test_changing_the_password_signs_out_other_sessions(d: Deployment) -> None:
    here, elsewhere = d.signed_in("resident_b"), d.signed_in("resident_b")
    changed = here.submit("/account/password", {"current": PASSWORD,
                                                "password": "another fine passphrase 8"})
    assert changed.status_code == 200
    assert here.get("/api/v1/me").status_code == 200
    assert elsewhere.get("/api/v1/me").status_code == 401


def test_a_password_reset_revokes_api_tokens(d: Deployment) -> None:
    browser = d.signed_in("resident_a")
    created = browser.submit("/account/tokens", {"name": "script", "scopes": ["read"]})
    token = re.search(r'data-testid="secret">(plt_[\w-]+)<', created.text).group(1)
    d.browser().submit("/password/forgot", {"email": "resident_a@example.org"})
    path = d.mailer.last_link("resident_a@example.org").removeprefix("http://127.0.0.1:8000")
    d.browser().submit(path, {"password": "reset after a leak 1234"})
    assert d.browser().get("/api/v1/me", headers={"authorization": f"Bearer {token}"}
                           ).status_code == 401


class LoggedMail(RecordingMailer):
    """Records like the test mailer, and reads back like the development mail log."""

    def read(self, limit: int = 50) -> list[dict[str, str]]:
        return [{"at": "", "to": m.to, "subject": m.subject, "body": m.body}
                for m in reversed(self.sent[-limit:])]


def test_dev_mail_is_for_a_signed_in_platform_admin_only(settings: Settings) -> None:
    """The development mail log holds everyone's reset links: nobody else may read it."""
    inline = settings.jobs.model_copy(update={"backend": "inline"})  # mail sent at once
    d = build_deployment(settings.model_copy(update={"env": "development", "jobs": inline}),
                         mailer=LoggedMail())
    d.browser().submit("/password/forgot", {"email": d.people["resident_a"].email})
    link = d.mailer.last_link(d.people["resident_a"].email)
    anonymous = d.browser().get("/dev/mail", follow_redirects=False)
    assert anonymous.status_code in (303, 401) and link not in anonymous.text
    for key in ("resident_a", "resident_b", "officer_x", "admin_x"):
        page = d.signed_in(key).get("/dev/mail")
        assert page.status_code in (403, 404) and link not in page.text, key
    assert link in d.signed_in("platform_admin").get("/dev/mail").text


def test_dev_mail_does_not_exist_outside_development(d: Deployment) -> None:
    assert d.signed_in("platform_admin").get("/dev/mail").status_code == 404
    anonymous = d.browser()  # not even a sign-in prompt: there is no such page here
    for accept in ("text/html", "application/json"):
        answer = anonymous.get("/dev/mail", headers={"accept": accept}, follow_redirects=False)
        assert answer.status_code == 404, accept
    assert d.signed_in("resident_a").get("/dev/mail").status_code == 404


def test_a_used_or_broken_reset_link_says_so_before_any_typing(d: Deployment) -> None:
    browser = d.browser()
    browser.submit("/password/forgot", {"email": d.people["resident_a"].email})
    link = d.mailer.last_link(d.people["resident_a"].email).replace("http://127.0.0.1:8000", "")
    assert 'name="password"' in browser.get(link).text  # a good link: the form
    broken = browser.get(link[:-6])
    assert broken.status_code == 409 and "Link not valid" in broken.text
    assert 'name="password"' not in broken.text
    assert browser.submit(link, {"password": "a brand new passphrase 7"}).status_code == 200
    used = browser.get(link)
    assert used.status_code == 409 and 'name="password"' not in used.text


def test_mail_jobs_send_the_live_link_once_and_warn_a_taken_address_once_a_day(
    d: Deployment,
) -> None:
    """Links are mailed by jobs: a link replaced before its job ran is not sent, and a
    sign-up with an address that has an account warns its owner at most once a day."""
    from porchlight.accounts.services import registration
    from porchlight.accounts.services.credentials import digest

    email = d.people["resident_a"].email
    browser = d.browser()
    for _ in range(5):  # a flood of requests: one link within five minutes
        browser.submit("/password/forgot", {"email": email})
    assert len([m for m in d.mailer.sent if m.to == email]) == 1
    d.clock.advance(timedelta(minutes=5))
    browser.submit("/password/forgot", {"email": email})
    with d.container.engine.connect() as connection:
        first, second = connection.execute(select(tables.one_time_tokens).where(
            tables.one_time_tokens.c.purpose == "reset_password").order_by(
            tables.one_time_tokens.c.created_at)).all()[-2:]
    links = [m for m in d.mailer.sent if m.to == email]
    # the Message-ID names the link's row only through a digest (mail servers log it)
    assert len(links) == 2 and links[0].key == f"link.{digest(str(first.id))[:32]}"
    assert str(first.id) not in links[0].key and links[0].key != links[1].key
    # the first link was replaced by the second: its job run again sends nothing
    assert registration.send_link(d.container.uow(), d.container.security, first.id) is False
    assert registration.send_link(d.container.uow(), d.container.security, second.id) is True
    assert d.mailer.sent[-1].body == links[1].body  # the same link again, not a new one

    d.mailer.sent.clear()
    for _ in range(3):
        answer = register(browser, email=email)
        assert answer.status_code == 200 and "Check your e-mail" in answer.text
    warned = [m for m in d.mailer.sent if m.to == email]
    assert [m.subject for m in warned] == ["Someone tried to sign up with your address"]
    d.clock.advance(timedelta(days=1))
    register(browser, email=email)
    assert len([m for m in d.mailer.sent if m.to == email]) == 2
