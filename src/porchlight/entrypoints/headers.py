"""Security headers on every response, set in one place.

- A strict Content-Security-Policy: scripts, styles, fonts and frames only from this origin
  (no inline script or style, no ``eval``), images also from the map's tile server,
  ``frame-ancestors 'none'`` (no clickjacking), forms post only here, no ``<base>``.
- ``X-Content-Type-Options: nosniff``; ``Referrer-Policy: same-origin`` (not
  ``no-referrer``: that makes browsers send ``Origin: null`` on form posts, which the
  CSRF check must refuse); ``Permissions-Policy`` turning off what no page uses.
- HSTS when the deployment is served over https.
- ``Cache-Control: no-store`` unless the route chose its own (static files do): pages and
  API answers carry personal data or footage, and a shared or back-button cache must not
  keep them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = b"max-age=63072000; includeSubDomains"


def content_security_policy(tile_url: str | None) -> str:
    images = ["'self'", "data:", "blob:"]
    tile_origin = _origin(tile_url)
    if tile_origin:
        images.append(tile_origin)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": images,
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def _origin(url: str | None) -> str | None:
    """The scheme and host of a tile URL template ('https://{s}.tile.example/…')."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.replace("{s}.", "*.")
    return f"{parts.scheme}://{host}"


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response, whatever produced it."""

    def __init__(self, app: ASGIApp, *, https: bool, tile_url: str | None = None) -> None:
        self.app = app
        fixed = [
            (b"content-security-policy", content_security_policy(tile_url).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), payment=(), usb=()"),
        ]
        if https:
            fixed.append((b"strict-transport-security", HSTS))
        self.fixed = fixed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in self.fixed if pair[0] not in present)
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
