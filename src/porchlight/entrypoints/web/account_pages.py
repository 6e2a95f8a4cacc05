"""Pages for joining, signing in (with the second step), recovering and account settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from pydantic import Field

from porchlight.accounts.domain.accounts import clean_display_name, normalise_email
from porchlight.accounts.domain.auth import ApiScope, check_password_rules, mfa_required
from porchlight.accounts.services import registration, signin, tokens
from porchlight.entrypoints.auth import SESSION_COOKIE, clear_session_cookie, set_cookie
from porchlight.entrypoints.deps import ActorDep, AnySessionDep, CallerDep, SecurityDep, UowDep
from porchlight.entrypoints.web.forms import (
    FormInvalid,
    FormModel,
    Posted,
    Values,
    field_errors,
    submit,
)
from porchlight.entrypoints.web.render import render, safe_next, see_other
from porchlight.kernel.domain.errors import DomainError, NotFound, SigninRefused
from porchlight.kernel.domain.geo import LatLon

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]


class RegisterForm(FormModel):
    email: str = Field(min_length=1, max_length=254)
    display_name: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=1024)
    home_lat: float = Field(ge=-90, le=90)
    home_lon: float = Field(ge=-180, le=180)
    postal_address: str = ""


@router.get("/register", response_class=HTMLResponse)
def register_form(request: Request) -> HTMLResponse:
    return render(request, "register.html", form={})


def _registration_rules(sec: SecurityDep, values: Values) -> dict[str, str]:
    """The domain's rules for each typed field, every one checked (not only the first that
    fails, nor only once the form parses), so all errors show in one round."""
    def text(name: str) -> str:
        value = values.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    password = values.get("password", "")
    email, password = text("email"), password if isinstance(password, str) else ""
    checks: dict[str, Callable[[], object]] = {
        "email": lambda: normalise_email(email),
        "display_name": lambda: clean_display_name(text("display_name")),
        "password": lambda: check_password_rules(password, common=sec.common_passwords,
                                                 email=email.lower()),
    }
    found: dict[str, str] = {}
    for name, check in checks.items():
        if not text(name):
            continue  # the parser says "this is required"
        try:
            check()
        except DomainError as error:
            found.update(field_errors(error))
    return found


@router.post("/register", response_class=HTMLResponse)
def register(request: Request, uow: UowDep, sec: SecurityDep, values: Posted) -> Response:
    def create(form: RegisterForm) -> Response:
        broken = _registration_rules(sec, values)
        if broken:
            raise FormInvalid(broken)
        registration.register(uow, sec, registration.Registration(
            email=form.email, display_name=form.display_name, password=form.password,
            home=LatLon(form.home_lat, form.home_lon),
            postal_address=form.postal_address or None))
        return render(request, "message.html", title="Check your e-mail",
                      message="We sent you a link to confirm your address. Then sign in.",
                      link=("/signin", "Sign in"))

    return submit(RegisterForm, values, create, lambda errors: render(
        request, "register.html", 422, form=values,
        errors={**_registration_rules(sec, values), **errors}),
        aliases={"location": "home_lat"})


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "signin.html", next=safe_next(next, ""))


@router.post("/signin", response_class=HTMLResponse)
def signin_submit(
    request: Request, uow: UowDep, sec: SecurityDep, email: Text, password: Text,
    next: Annotated[str, Form()] = "",
) -> Response:
    try:
        opened = signin.sign_in(uow, sec, email, password)
    except SigninRefused as refused:
        return render(request, "signin.html", 401, error=refused.message, email=email,
                      next=safe_next(next, ""))
    if opened.must_enrol_mfa:
        target = "/account/mfa"
    elif opened.needs_mfa:
        target = "/signin/mfa?next=" + safe_next(next, "/account")
    else:
        target = safe_next(next, "/account")
    response = see_other(target)
    set_cookie(request, response, SESSION_COOKIE, opened.token)
    return response


@router.get("/signin/mfa", response_class=HTMLResponse)
def mfa_challenge(request: Request, session: AnySessionDep, next: str | None = None) -> Response:
    if session.is_fully_signed_in:
        return see_other(safe_next(next, "/account"))
    return render(request, "signin_mfa.html", next=safe_next(next, "/account"))


@router.post("/signin/mfa", response_class=HTMLResponse)
def mfa_submit(
    request: Request, uow: UowDep, sec: SecurityDep, session: AnySessionDep, code: Text,
    next: Annotated[str, Form()] = "/account",
) -> Response:
    try:
        signin.verify_second_step(uow, sec, session.id, code)
    except DomainError as error:  # the password step passed: a wrong code is bad input
        return render(request, "signin_mfa.html", 422, errors=field_errors(error),
                      next=safe_next(next, "/account"))
    return see_other(safe_next(next, "/account"))


@router.post("/signout")
def signout(request: Request, uow: UowDep, session: AnySessionDep) -> Response:
    signin.sign_out(uow, session.id)
    response = see_other("/")
    clear_session_cookie(request, response)
    return response


@router.get("/verify-email/{token}", response_class=HTMLResponse)
def verify_email(request: Request, uow: UowDep, sec: SecurityDep, token: str) -> HTMLResponse:
    try:
        registration.verify_email(uow, sec, token)
    except DomainError as error:
        return render(request, "message.html", 409, title="Link not valid", message=error.message)
    return render(request, "message.html", title="Address confirmed",
                  message="Thank you: your e-mail address is confirmed.",
                  link=("/account", "Your account"))


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_form(request: Request) -> HTMLResponse:
    return render(request, "password_forgot.html")


@router.post("/password/forgot", response_class=HTMLResponse)
def forgot_submit(request: Request, uow: UowDep, sec: SecurityDep, email: Text) -> HTMLResponse:
    registration.request_password_reset(uow, sec, email)
    return render(request, "message.html", title="Check your e-mail",
                  message="If an account uses that address, a reset link is on its way. "
                          "It works once, for one hour.")


RESET_TITLE = "Choose a new password"
INVITE_TITLE = "Join your agency on Porchlight"


def _set_password_page(
    request: Request, action: str, title: str, use_link: Callable[[], object],
    done: tuple[str, str],
) -> HTMLResponse:
    """The mailed-link password form's answer: the form again with the error, or done."""
    try:
        use_link()
    except DomainError as error:
        return render(request, "password_set.html", 422, action=action, title=title,
                      errors=field_errors(error))
    return render(request, "message.html", title=done[0], message=done[1],
                  link=("/signin", "Sign in"))


LINK_NOT_VALID = ("This link is used up, has expired, or was cut short. Ask for a new "
                  "one: it works once, for one hour.")


@router.get("/password/reset/{token}", response_class=HTMLResponse)
def reset_form(request: Request, uow: UowDep, sec: SecurityDep, token: str) -> HTMLResponse:
    if not registration.reset_link_usable(uow, sec, token):  # say so before any typing
        return render(request, "message.html", 409, title="Link not valid",
                      message=LINK_NOT_VALID, link=("/password/forgot", "Send a new link"))
    return render(request, "password_set.html", action=f"/password/reset/{token}",
                  title=RESET_TITLE)


@router.post("/password/reset/{token}", response_class=HTMLResponse)
def reset_submit(
    request: Request, uow: UowDep, sec: SecurityDep, token: str, password: Text
) -> HTMLResponse:
    return _set_password_page(
        request, f"/password/reset/{token}", RESET_TITLE,
        lambda: registration.reset_password(uow, sec, token, password),
        ("Password changed", "Your password is changed and every session was signed out."))


@router.get("/invite/{token}", response_class=HTMLResponse)
def invite_form(request: Request, uow: UowDep, sec: SecurityDep, token: str) -> HTMLResponse:
    if not registration.invite_link_usable(uow, sec, token):
        return render(request, "message.html", 409, title="Link not valid",
                      message="This invitation is used up, has expired, or was cut short. "
                              "Ask your agency admin for a new one.", link=("/", "Home"))
    return render(request, "password_set.html", action=f"/invite/{token}",
                  title=INVITE_TITLE)


@router.post("/invite/{token}", response_class=HTMLResponse)
def invite_submit(
    request: Request, uow: UowDep, sec: SecurityDep, token: str, password: Text
) -> HTMLResponse:
    return _set_password_page(
        request, f"/invite/{token}", INVITE_TITLE,
        lambda: registration.accept_invite(uow, sec, token, password),
        ("Welcome", "Your password is set. Sign in to set up two-step sign-in."))


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, uow: UowDep, sec: SecurityDep, me: ActorDep,
            caller: CallerDep) -> HTMLResponse:
    return _account_page(request, uow, sec, me, caller)


def _account_page(request: Request, uow: UowDep, sec: SecurityDep, me: ActorDep,
                  caller: CallerDep, status: int = 200, **extra) -> HTMLResponse:
    return render(
        request, "account.html", status,
        address=registration.postal_address(sec, me),
        sessions=signin.my_sessions(uow, me.id),
        current_session=caller.session.id if caller.session else None,
        api_tokens=tokens.list_api_tokens(uow, me.id),
        mfa_required=mfa_required(me), **extra,
    )


class PasswordChangeForm(FormModel):
    current: str = Field(min_length=1, max_length=1024)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(request: Request, uow: UowDep, sec: SecurityDep, me: ActorDep,
                    caller: CallerDep, values: Posted) -> Response:
    def change(form: PasswordChangeForm) -> Response:
        registration.change_password(
            uow, sec, me.id, form.current, form.password,
            keep_session=caller.session.id if caller.session else None)
        return render(request, "message.html", title="Password changed",
                      message="Your new password is in use; every other session was signed "
                              "out.", link=("/account", "Back"))

    return submit(PasswordChangeForm, values, change, lambda errors: _account_page(
        request, uow, sec, me, caller, 422, errors=errors))


@router.post("/account/sessions/{session_id}/end")
def end_session(uow: UowDep, me: ActorDep, session_id: UUID) -> Response:
    signin.end_my_session(uow, me.id, session_id)
    return see_other("/account#sessions")


class TokenForm(FormModel):
    name: str = Field(min_length=1, max_length=60)
    scopes: list[ApiScope] = []


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(request: Request, uow: UowDep, sec: SecurityDep, me: ActorDep,
                 caller: CallerDep, values: Posted) -> HTMLResponse:
    def create(form: TokenForm) -> HTMLResponse:
        issued = tokens.create_api_token(uow, me.id, form.name, form.scopes)
        return render(request, "secret_once.html", title="Your new API token",
                      secret=issued.token, back="/account#tokens",
                      message="Copy it now: it is shown only once. Send it as "
                              "'Authorization: Bearer <token>'.")

    return submit(TokenForm, values, create, lambda errors: _account_page(
        request, uow, sec, me, caller, 422, errors=errors, form=values))


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(uow: UowDep, me: ActorDep, token_id: UUID) -> Response:
    tokens.revoke_api_token(uow, me.id, token_id)
    return see_other("/account#tokens")


@router.get("/account/mfa", response_class=HTMLResponse)
def mfa_page(request: Request, uow: UowDep, sec: SecurityDep, caller: CallerDep,
             session: AnySessionDep) -> HTMLResponse:
    return _mfa_page(request, uow, sec, caller, session)


def _mfa_page(request: Request, uow: UowDep, sec: SecurityDep, caller: CallerDep,
              session: AnySessionDep, status: int = 200, **extra) -> HTMLResponse:
    account = caller.account
    uri = signin.pending_mfa_uri(uow, sec, account.id)
    svg = segno.make(uri, error="m").svg_inline(scale=4) if uri else None
    qr = Markup(svg) if svg else None  # noqa: S704 - SVG generated by segno, no user markup
    secret = uri.split("secret=")[1].split("&")[0] if uri else None
    return render(request, "mfa_enrol.html", status, account=account, uri=uri, qr=qr,
                  secret=secret, forced=not session.is_fully_signed_in, **extra)


@router.post("/account/mfa/start")
def mfa_start(uow: UowDep, sec: SecurityDep, caller: CallerDep,
              session: AnySessionDep) -> Response:
    signin.start_mfa_enrolment(uow, sec, caller.account.id)
    return see_other("/account/mfa")


@router.post("/account/mfa/confirm", response_class=HTMLResponse)
def mfa_confirm(request: Request, uow: UowDep, sec: SecurityDep, caller: CallerDep,
                session: AnySessionDep, code: Text) -> Response:
    try:
        codes = signin.finish_mfa_enrolment(uow, sec, session.id, code)
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        return _mfa_page(request, uow, sec, caller, session, 422, errors=field_errors(error))
    return render(request, "recovery_codes.html", codes=codes)


@router.post("/account/mfa/recovery-codes", response_class=HTMLResponse)
def mfa_new_codes(request: Request, uow: UowDep, me: ActorDep) -> HTMLResponse:
    return render(request, "recovery_codes.html",
                  codes=signin.regenerate_recovery_codes(uow, me.id))


@router.post("/account/mfa/disable")
def mfa_disable(uow: UowDep, me: ActorDep) -> Response:
    signin.turn_off_mfa(uow, me.id)
    return see_other("/account#mfa")
