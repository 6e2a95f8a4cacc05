"""HTTP methods across routes: HEAD wherever GET is, OPTIONS and 405 naming every method.

Starlette routes a request to the first route whose path matches, so a path with a GET
route and a POST route answered ``Allow: GET`` to a PUT, and FastAPI's routes do not add
HEAD for GET. This middleware looks at every route of the app that matches the path:

- HEAD runs the GET route (routing, CSRF and authorisation as for GET) and sends the
  status and headers without the body;
- OPTIONS answers 204 with ``Allow`` naming every method of the path;
- a 405 carries the same ``Allow`` header.

The static files (a ``StaticFiles`` mount) count as a path with GET: they answer OPTIONS
and name their methods in a 405 the same way. Paths nothing matches (a 404) pass through
untouched.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def declared_methods(routes: Sequence[BaseRoute], scope: Scope) -> set[str]:
    """Every method one of ``routes`` declares for the request's path."""
    methods: set[str] = set()
    for route in routes:
        route_methods = getattr(route, "methods", None)
        if isinstance(route, Mount) and isinstance(route.app, StaticFiles):
            route_methods = {"GET", "HEAD"}  # what StaticFiles answers
        if route_methods and route.matches(scope)[0] is not Match.NONE:
            methods |= route_methods
    return methods


def allowed_methods(declared: set[str]) -> set[str]:
    """What a path answers: its declared methods, HEAD beside GET, and OPTIONS."""
    if not declared:
        return set()
    return declared | {"OPTIONS"} | ({"HEAD"} if "GET" in declared else set())


# Set in the scope of a HEAD run as GET: the route may tell that no body will be sent (a
# video route does not count a HEAD as a viewing, since no footage leaves).
HEAD_ONLY = "porchlight.head_only"


def head_only(scope: Scope) -> bool:
    return bool(scope.get(HEAD_ONLY))


def allow_header(methods: set[str]) -> bytes:
    return ", ".join(sorted(methods)).encode("ascii")


class MethodsMiddleware:
    """Answers HEAD and OPTIONS for every path and names all its methods in a 405.

    ``routes`` is every route of the app with its full path (FastAPI keeps included
    routers behind a private wrapper in ``app.router.routes``, so the app passes them).
    """

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method not in ("HEAD", "OPTIONS"):
            # The router finds the route; every route of the path is looked at only for a
            # 405 (most requests are neither HEAD, OPTIONS nor a 405).
            await self.app(scope, receive, self._with_allow_on_405(send, dict(scope)))
            return
        declared = declared_methods(self.routes, scope)
        methods = allowed_methods(declared)
        if method in declared or method not in methods:
            await self.app(scope, receive, _with_allow(send, methods))
        elif method == "OPTIONS":
            await _options(methods, send)
        else:
            await self._head(scope, receive, send)

    def _with_allow_on_405(self, send: Send, scope: Scope) -> Send:
        """``scope`` is a copy taken before routing (the router updates the scope)."""

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = allowed_methods(declared_methods(self.routes, scope))
                await _with_allow(send, methods)(message)
                return
            await send(message)

        return send_with_allow

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        as_get = {**scope, "method": "GET", HEAD_ONLY: True}

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                await send({"type": "http.response.body", "body": b""})

        try:
            await self.app(as_get, receive, headers_only)
        finally:
            if "route" in as_get:  # for the request log, which reads the outer scope
                scope["route"] = as_get["route"]


async def _options(methods: set[str], send: Send) -> None:
    await send({"type": "http.response.start", "status": 204,
                "headers": [(b"allow", allow_header(methods))]})
    await send({"type": "http.response.body", "body": b""})


def _with_allow(send: Send, methods: set[str]) -> Send:
    if not methods:  # no route has this path: a 404 (or the static files) as it is
        return send

    async def send_with_allow(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 405:
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
            message = {**message, "headers": [*headers, (b"allow", allow_header(methods))]}
        await send(message)

    return send_with_allow
