"""Every request body has a size cap: forms and JSON ``max_bytes`` (1 MiB by default,
``PORCHLIGHT_STORAGE__MAX_BODY_BYTES``), a route that declares its own ``max_body_size``
(a clip upload, which streams to disk under ``max_upload_bytes``) its own, unless the
body is a form: a form is capped on every route.

A body over the cap, by its ``Content-Length`` or by what arrives without one, is refused
with 413 ``too_large`` where the app reads it, before anything is done with it, and the
connection is closed rather than the rest read. The refusal is an ``HTTPException`` that
the app's own handler answers: ``{"error": ...}`` for the API, the error page for a
browser. (Starlette's ``RequestBodyLimitMiddleware``, behind FastAPI's app-wide
``max_body_size``, counts the same way but puts its own plain-text 413 in place of any
answer to a body whose declared length is over the cap, which would break the API's error
format; it is used only for the upload route's outer ceiling.)
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        size = f"{limit // 1024**2} MiB" if limit % 1024**2 == 0 else f"{limit // 1024} KiB"
        super().__init__(413, f"the request body is larger than the {size} limit",
                         headers={"connection": "close"})


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.own_limit = [r for r in routes if getattr(r, "max_body_size", None) is not None]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not _is_form(headers) and any(route.matches(scope)[0] is Match.FULL
                                         for route in self.own_limit):
            await self.app(scope, receive, send)
            return
        length = headers.get("content-length", "")
        limit, received = self.max_bytes, 0
        declared = int(length) if length.isdigit() else None

        async def limited() -> Message:
            nonlocal received
            if declared is not None and declared > limit:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)


def _is_form(headers: Headers) -> bool:
    """A form body is capped on every route, the upload's too: an upload is raw video, and
    a form posted to its path would be parsed whole (the CSRF check reads a form's token)
    before anything refuses it."""
    kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind in ("application/x-www-form-urlencoded", "multipart/form-data")
