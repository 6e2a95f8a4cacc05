"""The one table that maps domain errors to HTTP statuses, and the handlers that use it.

JSON callers get ``{"error": {"code": ..., "message": ...}}``; browsers get the error page.
"""

from __future__ import annotations

from urllib.parse import quote

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from porchlight.entrypoints.web.forms import plain_message
from porchlight.kernel.domain import errors

log = structlog.get_logger("porchlight.request")

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.ValidationFailed: 422,
    errors.PolicyRefused: 422,
    errors.NotAuthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooManyRequests: 429,
    errors.TooLarge: 413,
    errors.VideoRejected: 415,
    errors.UploadStalled: 408,
}

# Refused before the request body was read to its end: the rest of the body would only
# keep the connection busy, so the response asks the server to close it (uvicorn does).
CLOSES_CONNECTION: tuple[type[errors.DomainError], ...] = (errors.UploadStalled, errors.TooLarge)

HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}


def status_for(error: errors.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_response(request: Request, status: int, code: str, message: str) -> Response:
    if wants_html(request) and status == 401 and request.method in ("GET", "HEAD"):
        return RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)
    if wants_html(request):
        templates = request.app.state.templates
        return templates.TemplateResponse(
            request, "error.html", {"status": status, "code": code, "message": message},
            status_code=status,
        )
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.DomainError)
    response = error_response(request, status_for(exc), exc.code, exc.message)
    if isinstance(exc, CLOSES_CONNECTION):
        response.headers["connection"] = "close"
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    """422 for input that breaks the schema; 400 for a body that is not JSON at all, or
    that is empty where the operation needs one."""
    assert isinstance(exc, RequestValidationError)
    if wants_html(request) and _only_the_path(exc):  # a mangled link: no such page
        return error_response(request, 404, "not_found", "there is no such page; the link "
                              "may be cut short or mistyped")
    if wants_html(request):
        return _check_what_you_sent(request, exc)
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":
        return error_response(request, 400, "bad_request", "the body is not valid JSON")
    if _body_missing(exc):  # as malformed as a cut-off body, and answered the same way
        return error_response(request, 400, "bad_request", "the body is empty: send a JSON object")
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = f"{where}: {first.get('msg', 'invalid input')}" if where else "invalid input"
    return error_response(request, 422, "invalid", message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    response = error_response(request, exc.status_code, code, message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def _body_missing(exc: RequestValidationError) -> bool:
    """A required JSON body that was not sent at all (empty), not one that lacks a field."""
    return any(error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",)
               for error in exc.errors())


def _only_the_path(exc: RequestValidationError) -> bool:
    return bool(exc.errors()) and all(error.get("loc", ("",))[0] == "path"
                                      for error in exc.errors())


def _check_what_you_sent(request: Request, exc: RequestValidationError) -> Response:
    """A page's own forms re-render themselves with errors beside the fields; what gets
    here is a value no page offers (a tampered choice, a stale link). Say which, plainly,
    and offer the way back, rather than a bare status code."""
    problems = []
    for error in exc.errors():
        where = " ".join(str(part) for part in error.get("loc", ()) if part not in ("body",
                                                                                 "query"))
        problems.append(f"{where.replace('_', ' ')}: {plain_message(error)}")
    back = safe_referer(request)
    return request.app.state.templates.TemplateResponse(
        request, "error.html",
        {"status": 422, "code": "invalid", "title": "Please check what you sent",
         "message": "; ".join(problems) or "some of what was sent could not be read",
         "back": back}, status_code=422)


def safe_referer(request: Request) -> str | None:
    """The page the form was on, when it is on this site."""
    referer = request.headers.get("referer", "")
    base = str(request.base_url)
    path = "/" + referer[len(base):] if referer.startswith(base) else ""
    return path if path.startswith("/") and not path.startswith("//") else None


CLIENT_CLOSED = 499  # nginx's code: the client went away before the answer


async def _client_disconnect(request: Request, exc: Exception) -> Response:
    """The client hung up mid-request (a camera losing its link half-way through an
    upload): not a server error. What it sent is already gone (the upload's temp file is
    removed as its block unwinds); the 499 is for the access log, nobody reads it."""
    assert isinstance(exc, ClientDisconnect)
    log.info("client closed the connection before the answer", path=request.url.path)
    return Response(status_code=CLIENT_CLOSED)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ClientDisconnect, _client_disconnect)
    app.add_exception_handler(errors.DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
