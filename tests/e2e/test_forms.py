"""Forms keep what was typed and put each error beside its field; a typo never costs the
whole form, and a browser never gets a bare error page for it."""

from __future__ import annotations

import re

import pytest

from porchlight.config import Settings
from tests.e2e.support import HOME_A, Deployment, build_deployment


@pytest.fixture
def d(settings: Settings) -> Deployment:
    deployment = build_deployment(settings)
    with deployment.container.uow() as uow:
        uow.agencies.get(deployment.agency_x).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    return deployment


def field_error(page: str, name: str) -> str | None:
    found = re.search(rf'<span class="field-error" id="f-{re.escape(name)}-error">([^<]*)<', page)
    return found.group(1) if found else None


def value_of(page: str, name: str) -> str | None:
    found = re.search(rf'<input id="f-{re.escape(name)}" name="{re.escape(name)}"[^>]*'
                      rf'value="([^"]*)"', page)
    return found.group(1) if found else None


def assert_kept(page: str, typed: dict[str, str]) -> None:
    for name, value in typed.items():
        assert value_of(page, name) == value, (name, value_of(page, name))


def test_a_non_numeric_latitude_keeps_the_registration_form(d: Deployment) -> None:
    typed = {"email": "new@example.org", "display_name": "New Neighbour",
             "home_lat": "forty-five", "home_lon": "-122.65"}
    answer = d.browser().submit("/register", {**typed, "password": "a long passphrase 42"})
    assert answer.status_code == 422
    page = answer.text
    assert field_error(page, "home_lat") == "enter a number, like 45.5123"
    assert field_error(page, "home_lon") is None
    assert_kept(page, typed)
    assert "a long passphrase 42" not in page  # a password is never sent back
    assert 'aria-invalid="true"' in page and 'aria-describedby="f-home_lat-error"' in page


def test_a_domain_rule_is_shown_beside_its_field(d: Deployment) -> None:
    typed = {"email": "new@example.org", "display_name": "New", "home_lat": "45.5",
             "home_lon": "-122.6"}
    page = d.browser().submit("/register", {**typed, "password": "password123"}).text
    assert "common passwords" in field_error(page, "password")
    assert_kept(page, typed)


def test_every_registration_error_shows_in_one_round(d: Deployment) -> None:
    """The password rule, the e-mail's form and a bad latitude: all at once, not in turns."""
    typed = {"email": "not-an-address", "display_name": "New Neighbour",
             "home_lat": "forty-five", "home_lon": "-122.65", "postal_address": "1 Alder St"}
    answer = d.browser().submit("/register", {**typed, "password": "short"})
    assert answer.status_code == 422
    page = answer.text
    assert field_error(page, "home_lat") == "enter a number, like 45.5123"
    assert field_error(page, "email") == "enter a valid e-mail address"
    assert field_error(page, "password") == "use at least 10 characters"
    assert field_error(page, "display_name") is None and field_error(page, "home_lon") is None
    assert "Please check the 3 fields marked below." in page
    assert_kept(page, {k: v for k, v in typed.items() if k != "postal_address"})
    assert "1 Alder St</textarea>" in page and 'value="short"' not in page
    # and with the fields parsed, the domain's rules still come together
    page = d.browser().submit("/register", {**typed, "home_lat": "45.5",
                                            "password": "password123"}).text
    assert field_error(page, "email") == "enter a valid e-mail address"
    assert "common passwords" in field_error(page, "password")


def test_a_camera_with_a_bad_location_keeps_its_name(d: Deployment) -> None:
    resident = d.signed_in("resident_a")
    answer = resident.submit("/cameras", {"name": "Side gate", "lat": "91", "lon": "abc",
                                          "retention_days": "30"})
    assert answer.status_code == 422
    assert field_error(answer.text, "lat") == "must be at most 90"
    assert field_error(answer.text, "lon") == "enter a number, like 45.5123"
    assert_kept(answer.text, {"name": "Side gate", "lat": "91", "lon": "abc"})
    assert re.search(r'<option value="30" selected>', answer.text)


def test_a_request_refused_by_policy_keeps_everything_typed(d: Deployment) -> None:
    officer = d.signed_in("officer_x")
    typed = {"case_number": "24-0815", "incident_type": "theft",
             "incident_time": "2026-11-02T07:20", "lat": str(HOME_A.lat),
             "lon": str(HOME_A.lon), "radius_m": "5000", "window_start": "2026-11-02T07:00",
             "window_end": "2026-11-02T08:00", "retention_days": "90",
             "contact": "Officer X, 555-0101", "tz": "Europe/London",
             "description": "A bicycle was stolen from a porch on Alder St; we look for the thief."}
    answer = officer.submit("/requests", typed)
    assert answer.status_code == 422
    assert "limit" in field_error(answer.text, "radius_m")
    assert_kept(answer.text, {k: v for k, v in typed.items()
                              if k not in ("incident_type", "description", "tz")})
    assert "we look for the thief." in answer.text  # the textarea keeps its text
    assert re.search(r'<option value="theft" selected>', answer.text)


def test_a_request_with_a_missing_time_says_which(d: Deployment) -> None:
    officer = d.signed_in("officer_x")
    answer = officer.submit("/requests", {"case_number": "1", "incident_type": "theft",
                                          "window_start": "yesterday"})
    assert answer.status_code == 422
    assert field_error(answer.text, "incident_time") == "this is required"
    assert field_error(answer.text, "window_start") == "enter a date and a time"
    assert value_of(answer.text, "window_start") == "yesterday"


def test_an_agency_with_a_typo_keeps_the_form(d: Deployment) -> None:
    admin = d.signed_in("platform_admin")
    answer = admin.submit("/admin/agencies", {"name": "Parks Police", "kind": "municipal_police",
                                              "center_lat": "45.5", "center_lon": "-122.6",
                                              "radius_m": "ten km"})
    assert answer.status_code == 422
    assert field_error(answer.text, "radius_m") == "enter a whole number, like 200"
    assert_kept(answer.text, {"name": "Parks Police", "center_lat": "45.5"})


def test_an_invitation_to_a_bad_address_keeps_the_name(d: Deployment) -> None:
    admin = d.signed_in("admin_x")
    answer = admin.submit(f"/agencies/{d.agency_x}/staff",
                          {"email": "not-an-address", "display_name": "Officer Z",
                           "role": "officer"})
    assert answer.status_code == 422
    assert field_error(answer.text, "email") == "enter a valid e-mail address"
    assert_kept(answer.text, {"email": "not-an-address", "display_name": "Officer Z"})


def test_a_wrong_current_password_is_shown_beside_it(d: Deployment) -> None:
    resident = d.signed_in("resident_a")
    answer = resident.submit("/account/password", {"current": "not my password",
                                                   "password": "a brand new passphrase"})
    assert answer.status_code == 422
    assert field_error(answer.text, "current") == "the current password is not right"


def test_a_token_without_a_scope_keeps_its_name(d: Deployment) -> None:
    resident = d.signed_in("resident_a")
    answer = resident.submit("/account/tokens", {"name": "my script"})
    assert answer.status_code == 422
    assert "pick at least one scope" in answer.text
    assert value_of(answer.text, "name") == "my script"


def test_a_tampered_choice_gets_a_page_not_a_bare_error(d: Deployment) -> None:
    """A select sent with a value no page offers: the form again, with the field marked."""
    admin = d.signed_in("admin_x")
    answer = admin.submit(f"/agencies/{d.agency_x}/staff",
                          {"email": "z@example.org", "display_name": "Z", "role": "sheriff"},
                          headers={"accept": "text/html"})
    assert answer.status_code == 422
    assert field_error(answer.text, "role") == "pick one of the choices"
    assert "422 · invalid" not in answer.text


def test_a_value_no_page_offers_gets_a_plain_page_with_the_way_back(d: Deployment) -> None:
    admin = d.signed_in("admin_x")
    officer_id = d.people["officer_x"].id
    answer = admin.submit(f"/accounts/{officer_id}/role", {"role": "sheriff"}, headers={
        "accept": "text/html", "referer": f"http://testserver/agencies/{d.agency_x}/staff"})
    assert answer.status_code == 422
    assert "Please check what you sent" in answer.text and "role: pick one of" in answer.text
    assert f'href="/agencies/{d.agency_x}/staff"' in answer.text
    assert "422 · invalid" not in answer.text
    foreign = admin.submit(f"/accounts/{officer_id}/role", {"role": "sheriff"}, headers={
        "accept": "text/html", "referer": "https://evil.example/agencies"})
    assert "evil.example" not in foreign.text


def test_a_mangled_link_is_not_found_not_a_form_error(d: Deployment) -> None:
    resident = d.signed_in("resident_a")
    for path in ("/inbox/123", "/clips/xyz", "/requests/not-a-uuid"):
        page = resident.get(path, headers={"accept": "text/html"})
        assert page.status_code == 404, path
        assert "no such page" in page.text and "Please check what you sent" not in page.text


def test_an_api_client_without_a_token_is_told_to_send_one(d: Deployment) -> None:
    """Not a CSRF message meant for browsers: a device that forgot its token gets a 401."""
    bare = d.browser()
    bare.cookies.clear()
    answer = bare.post(f"/api/v1/cameras/{d.camera_a}/clips",
                       params={"recorded_at": "2026-11-02T08:00:00Z"}, content=b"\0" * 10,
                       headers={"content-type": "video/mp4"})
    assert answer.status_code == 401
    assert "Authorization: Bearer" in answer.json()["error"]["message"]
