"""The public pages of the foundation: the landing page and the list of agencies."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from porchlight.entrypoints.deps import UowDep
from porchlight.neighbourhood.services import summary as neighbourhood

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def landing(request: Request, uow: UowDep) -> HTMLResponse:
    summary = neighbourhood.summary(uow)
    return request.app.state.templates.TemplateResponse(
        request, "index.html", {"summary": summary}
    )


@router.get("/agencies", response_class=HTMLResponse)
def agencies(request: Request, uow: UowDep) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(
        request, "agencies.html", {"agencies": neighbourhood.agencies(uow)}
    )


@router.get("/favicon.ico")
def favicon() -> RedirectResponse:
    """Browsers ask for /favicon.ico unprompted; the icon is the static SVG the pages name."""
    return RedirectResponse("/static/favicon.svg", status_code=301)
