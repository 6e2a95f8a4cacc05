"""The agency's pages: its requests, a new request, approval, withdrawal, received evidence."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from porchlight.domain.geo import MAX_SEARCH_RADIUS_M, LatLon
from porchlight.domain.requests import MIN_RADIUS_M, IncidentType, RequestDraft
from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.web.clip_pages import ranged_response
from porchlight.entrypoints.web.forms import FormModel, LocalDateTime, Posted, submit
from porchlight.entrypoints.web.render import render, see_other
from porchlight.entrypoints.web.when import viewer_zone, zone_named
from porchlight.services import evidence, video_requests

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]


class RequestForm(FormModel):
    case_number: str = Field(min_length=1, max_length=40)
    incident_type: IncidentType
    incident_other: str = ""
    incident_time: LocalDateTime
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: int = Field(ge=MIN_RADIUS_M, le=MAX_SEARCH_RADIUS_M)
    window_start: LocalDateTime
    window_end: LocalDateTime
    description: str = Field(min_length=1, max_length=2000)
    retention_days: int = Field(ge=1, le=3650)
    contact: str = Field(min_length=1, max_length=200)

    def draft(self) -> RequestDraft:
        return RequestDraft(
            case_number=self.case_number, incident_type=self.incident_type,
            incident_other=self.incident_other or None, incident_time=self.incident_time,
            location=LatLon(self.lat, self.lon), radius_m=self.radius_m,
            window_start=self.window_start, window_end=self.window_end,
            description=self.description, retention_days=self.retention_days,
            sharing_plan=(), contact=self.contact)


def _requests_page(request: Request, uow: UowDep, me: ActorDep, status: int = 200,
                   **extra) -> Response:
    return render(request, "requests.html", status,
                  requests=video_requests.agency_requests(uow, me),
                  incident_types=[(t.value, t.label) for t in IncidentType], **extra)


@router.get("/requests", response_class=HTMLResponse)
def requests_page(request: Request, uow: UowDep, me: ActorDep) -> Response:
    return _requests_page(request, uow, me)


@router.post("/requests", response_class=HTMLResponse)
def create(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
           values: Posted) -> Response:
    def send(form: RequestForm) -> Response:
        request_id = video_requests.create_request(uow, container.requests_kit, me,
                                                   form.draft())
        return see_other(f"/requests/{request_id}")

    zone = zone_named(str(values.get("tz", ""))) or viewer_zone(request)
    return submit(RequestForm, values, send, lambda errors: _requests_page(
        request, uow, me, 422, form=values, errors=errors),
        aliases={"location": "lat"}, zone=zone)


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
