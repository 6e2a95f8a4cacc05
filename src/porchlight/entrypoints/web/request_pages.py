"""The agency's pages: its requests, a new request, approval, withdrawal, received evidence."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from porchlight.domain.errors import DomainError, PermissionDenied, ValidationFailed
from porchlight.domain.geo import LatLon
from porchlight.domain.requests import IncidentType, RequestDraft
from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.web.clip_pages import ranged_response
from porchlight.entrypoints.web.render import render, see_other
from porchlight.services import evidence, video_requests

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]


def _when(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(f"{name}: use a date and time like 2026-11-25T20:00Z") from exc
    if moment.tzinfo is None:
        raise ValidationFailed(f"{name} needs a time zone (e.g. Z for UTC)")
    return moment


@router.get("/requests", response_class=HTMLResponse)
def requests_page(request: Request, uow: UowDep, me: ActorDep) -> Response:
    return render(request, "requests.html", requests=video_requests.agency_requests(uow, me),
                  incident_types=list(IncidentType))


@router.post("/requests", response_class=HTMLResponse)
def create(
    request: Request, uow: UowDep, container: ContainerDep, me: ActorDep, case_number: Text,
    incident_type: Annotated[IncidentType, Form()], incident_time: Text, lat: Annotated[
        float, Form()], lon: Annotated[float, Form()], radius_m: Annotated[int, Form()],
    window_start: Text, window_end: Text, description: Text,
    retention_days: Annotated[int, Form()], contact: Text,
    incident_other: Annotated[str, Form()] = "",
) -> Response:
    try:
        draft = RequestDraft(
            case_number=case_number, incident_type=incident_type,
            incident_other=incident_other or None,
            incident_time=_when(incident_time, "incident time"), location=LatLon(lat, lon),
            radius_m=radius_m, window_start=_when(window_start, "window start"),
            window_end=_when(window_end, "window end"), description=description,
            retention_days=retention_days, sharing_plan=(), contact=contact)
        request_id = video_requests.create_request(uow, container.requests_kit, me, draft)
    except DomainError as error:
        if isinstance(error, PermissionDenied):
            raise
        return render(request, "requests.html", 422, error=error.message,
                      requests=video_requests.agency_requests(uow, me),
                      incident_types=list(IncidentType))
    return see_other(f"/requests/{request_id}")


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def detail(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
           request_id: UUID) -> Response:
    found = video_requests.get_request(uow, me, request_id)
    return render(request, "request.html", req=found,
                  counts=video_requests.counts(uow, container.requests_kit, me, request_id),
                  items=evidence.agency_evidence(uow, me, request_id),
                  contacts=evidence.shared_contacts(uow, container.security, me, request_id))


@router.post("/requests/{request_id}/approve")
def approve(uow: UowDep, container: ContainerDep, me: ActorDep, request_id: UUID,
            justification: Text) -> Response:
    video_requests.approve(uow, container.requests_kit, me, request_id, justification)
    return see_other(f"/requests/{request_id}")


@router.post("/requests/{request_id}/reject")
def reject(uow: UowDep, me: ActorDep, request_id: UUID) -> Response:
    video_requests.reject(uow, me, request_id)
    return see_other(f"/requests/{request_id}")


@router.post("/requests/{request_id}/withdraw")
def withdraw(uow: UowDep, me: ActorDep, request_id: UUID) -> Response:
    video_requests.withdraw(uow, me, request_id)
    return see_other(f"/requests/{request_id}")


@router.get("/evidence/{evidence_id}/video")
async def evidence_video(request: Request, container: ContainerDep, me: ActorDep,
                         evidence_id: UUID) -> Response:
    header = request.headers.get("range")
    # Every byte an agency reads is custody: each request, whatever its range, is audited
    # and counts as opening the evidence (which ends the resident's right to revoke).
    item, data_key = await run_in_threadpool(
        evidence.open_evidence, container.uow(), container.footage, me, evidence_id,
        record=True)
    media = "video/webm" if item.container in ("webm", "matroska") else "video/mp4"
    return ranged_response(
        header, item.size_bytes, media,
        lambda start, end: container.footage.store.read(item.object_key, data_key, start, end))
