"""Evidence exports over HTTP: the page's button and the staff API answer with the ZIP.

``POST``, not ``GET``: an export reads the whole copy, is a custody event, and ends the
resident's right to take the footage back, so a link another site could make an officer
follow (a GET travels with SameSite=Lax cookies) must not do it. Playback stays ``GET``
(a ``<video src>`` cannot post); an export is a deliberate click, so it gets the app's
CSRF check like every other change. Bearer tokens are exempt, as everywhere.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from porchlight.custody.services import export
from porchlight.entrypoints.api.routes import ERROR_RESPONSES
from porchlight.entrypoints.deps import ActorDep, ContainerDep

ZIP = "application/zip"
ZIP_RESPONSE = {200: {"description": "The export: a ZIP of `video.mp4`, `manifest.json` and "
                                     "`manifest.sig`, as an attachment",
                      "content": {ZIP: {"schema": {"type": "string", "format": "binary"}}}}}

pages_router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["evidence"])


def _zip(container: ContainerDep, me: ActorDep, evidence_id: UUID) -> FileResponse:
    made = export.export_evidence(container.uow(), container.evidence_exports(), me,
                                  evidence_id)
    return FileResponse(
        made.path, media_type=ZIP, filename=made.filename,
        headers={"Cache-Control": "no-store", "X-Export-Id": str(made.export_id)},
        background=BackgroundTask(made.discard))


@pages_router.post("/evidence/{evidence_id}/export")
def export_page(container: ContainerDep, me: ActorDep, evidence_id: UUID) -> FileResponse:
    """The evidence page's *Download export* button."""
    return _zip(container, me, evidence_id)


@api_router.post("/evidence/{evidence_id}/export", response_class=FileResponse,
                 responses=ZIP_RESPONSE)
def export_api(container: ContainerDep, me: ActorDep, evidence_id: UUID) -> FileResponse:
    """Export an evidence item (staff of the agency holding it): the ZIP an
    evidence-management system ingests, checked offline by `porchlight evidence verify`.
    The export is recorded (`evidence.exported`) before it is sent; a refusal is recorded
    too."""
    return _zip(container, me, evidence_id)
