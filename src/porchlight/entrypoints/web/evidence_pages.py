"""The agency's evidence pages for re-sharing: an item's share form and where it went, and
the evidence other agencies shared with one's own."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from porchlight.custody.services import reshare
from porchlight.entrypoints.deps import ActorDep, UowDep
from porchlight.entrypoints.inputs import ReshareIn
from porchlight.entrypoints.web.forms import Posted, submit
from porchlight.entrypoints.web.render import render, see_other
from porchlight.entrypoints.web.when import viewer_zone, zone_named

router = APIRouter(include_in_schema=False)


@router.get("/evidence", response_class=HTMLResponse)
def received_page(request: Request, uow: UowDep, me: ActorDep) -> Response:
    """Copies other agencies shared with the viewer's agency, each marked with its sender."""
    return render(request, "evidence_received.html",
                  received=reshare.received_evidence(uow, me))


def _share_page(request: Request, uow: UowDep, me: ActorDep, evidence_id: UUID,
                status: int = 200, **extra) -> Response:
    today = uow.clock.now().astimezone(viewer_zone(request)).date()
    return render(request, "evidence_share.html", status,
                  found=reshare.share_form(uow, me, evidence_id), today=today, **extra)


@router.get("/evidence/{evidence_id}/share", response_class=HTMLResponse)
def share_page(request: Request, uow: UowDep, me: ActorDep, evidence_id: UUID) -> Response:
    return _share_page(request, uow, me, evidence_id)


@router.post("/evidence/{evidence_id}/share", response_class=HTMLResponse)
def share(request: Request, uow: UowDep, me: ActorDep, evidence_id: UUID,
          values: Posted) -> Response:
    """Share the item with another agency for a reason; a refusal is shown beside the field
    it is about, with what was typed kept."""
    def send(form: ReshareIn) -> Response:
        reshare.reshare(uow, me, form.command(evidence_id))
        return see_other(f"/evidence/{evidence_id}/share#shares")

    zone = zone_named(str(values.get("tz", ""))) or viewer_zone(request)
    return submit(ReshareIn, values, send, lambda errors: _share_page(
        request, uow, me, evidence_id, 422, form=values, errors=errors), zone=zone)
