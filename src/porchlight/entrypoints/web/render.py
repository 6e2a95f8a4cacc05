"""Rendering helpers shared by the page modules."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup, escape

from porchlight.entrypoints.auth import CSRF_FIELD, Caller, csrf_token_for, resolve_caller
from porchlight.kernel.domain.errors import DomainError


def template_context(request: Request) -> dict[str, Any]:
    """Available in every template: the caller and the CSRF field for forms."""
    try:
        caller = resolve_caller(request)
    except DomainError:
        caller = Caller()

    def csrf_field() -> Markup:
        token = escape(csrf_token_for(request))
        field = f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">'
        return Markup(field)  # noqa: S704 - the only variable part is escaped above

    return {"caller": caller, "me": caller.actor, "csrf_field": csrf_field,
            "csrf_token": csrf_token_for(request)}


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(
        request, name, context, status_code=status
    )


def see_other(path: str) -> RedirectResponse:
    """After a successful form post: go somewhere with GET (no resubmission on reload)."""
    return RedirectResponse(path, status_code=303)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: '/x' but never '//evil.example' or 'https://…'."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
