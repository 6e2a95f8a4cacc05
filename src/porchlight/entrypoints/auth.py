"""Who is calling: a session cookie, a personal API token, or no one; and CSRF protection.

Routes never decide access themselves: they ask for a `Caller` and hand its actor to a
use case, whose policy functions decide. This module only establishes identity.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from porchlight.accounts.domain.accounts import Account
from porchlight.accounts.domain.auth import ApiScope, ApiToken
from porchlight.accounts.domain.auth import Session as UserSession
from porchlight.accounts.services import signin, tokens
from porchlight.kernel.domain.errors import NotAuthenticated, PermissionDenied

SESSION_COOKIE = "pl_session"
CSRF_COOKIE = "pl_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    account: Account | None = None
    session: UserSession | None = None
    api_token: ApiToken | None = None

    @property
    def actor(self) -> Account | None:
        """The account, once fully signed in (both steps, where two are needed)."""
        if self.account is None:
            return None
        if self.session is not None and not self.session.is_fully_signed_in:
            return None
        return self.account

    @property
    def pending(self) -> UserSession | None:
        """A session that passed the password but still owes its second step."""
        if self.session is not None and not self.session.is_fully_signed_in:
            return self.session
        return None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def resolve_caller(request: Request) -> Caller:
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    container = request.app.state.container
    caller = Caller()
    bearer = _bearer(request)
    if bearer is not None:
        caller = _token_caller(container, request, bearer)
    else:
        found = signin.authenticate(container.uow(), request.cookies.get(SESSION_COOKIE))
        if found is not None:
            caller = Caller(account=found.account, session=found.session)
    request.state.caller = caller
    return caller


def _token_caller(container, request: Request, bearer: str) -> Caller:
    if bearer.startswith(tokens.DEVICE_TOKEN_PREFIX):
        raise PermissionDenied("a device token can only upload clips to its camera")
    found = tokens.authenticate_api_token(container.uow(), bearer)
    if found is None:
        raise NotAuthenticated("the API token is not valid or has been revoked")
    account, token = found
    needed = ApiScope.READ if request.method in SAFE_METHODS else ApiScope.WRITE
    if not token.allows(needed):
        raise PermissionDenied(f"this API token lacks the {needed.value!r} scope")
    return Caller(account=account, api_token=token)


# ---- CSRF --------------------------------------------------------------------------------


def csrf_token_for(request: Request) -> str:
    """The token forms carry: an HMAC of the per-browser nonce kept in an HttpOnly cookie."""
    nonce = request.state.csrf_nonce
    key = request.app.state.csrf_key
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()


def ensure_csrf_nonce(request: Request) -> bool:
    """Give the request a nonce; True when a new one must be set as a cookie."""
    nonce = request.cookies.get(CSRF_COOKIE, "")
    if 20 <= len(nonce) <= 64 and nonce.replace("-", "").replace("_", "").isalnum():
        request.state.csrf_nonce = nonce
        return False
    request.state.csrf_nonce = secrets.token_urlsafe(24)
    return True


class CsrfNonceMiddleware:
    """Every browser gets a random CSRF nonce in an HttpOnly cookie; forms carry its HMAC.

    Pure ASGI: the cookie is added to the response's first message, with no task, stream
    or response object of its own per request (a ``BaseHTTPMiddleware`` has all three)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if not ensure_csrf_nonce(request):
            await self.app(scope, receive, send)
            return
        holder = Response()
        set_cookie(request, holder, CSRF_COOKIE, request.state.csrf_nonce)
        cookie = [pair for pair in holder.raw_headers if pair[0] == b"set-cookie"]

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *cookie]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def check_csrf(request: Request) -> None:
    """Every unsafe request that a browser could send with cookies must prove it came from us."""
    if request.method in SAFE_METHODS or _bearer(request) is not None:
        return
    if request.url.path.startswith("/api/") and not request.cookies:
        # Neither a token nor a browser's cookies: a client that forgot its token. Nothing
        # here could act as anyone, so say what is missing (every API write needs one).
        raise NotAuthenticated("send a token as 'Authorization: Bearer …' (a device token "
                               "for uploads), or sign in")
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise PermissionDenied("cross-site request refused")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and _is_form(request):
        sent = (await request.form()).get(CSRF_FIELD)
    expected = csrf_token_for(request)
    if not isinstance(sent, str) or request.cookies.get(CSRF_COOKIE) is None or not (
        hmac.compare_digest(sent, expected)
    ):
        raise PermissionDenied("the form expired or did not come from this site; reload it")


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


# ---- cookies -----------------------------------------------------------------------------


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="lax", path="/",
        secure=request.app.state.secure_cookies,
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=request.app.state.secure_cookies)
