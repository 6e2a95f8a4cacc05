"""JSON API for video requests (agency staff) and the resident's inbox."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from porchlight.custody.services import evidence, holds, reshare
from porchlight.entrypoints.api.routes import ERROR_RESPONSES
from porchlight.entrypoints.api.schemas import ErrorBody
from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.inputs import ApprovalIn, ConsentIn, RejectionIn, RequestIn
from porchlight.jobs.services import jobs
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.services.messagebus import evidence_job_key
from porchlight.requests.domain.requests import VideoRequest
from porchlight.requests.services import answers, reach, video_requests
from porchlight.requests.services.commands import (
    AskForDeletion,
    DeclineRequest,
    RevokeConsent,
    WithdrawVideoRequest,
)

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["requests"])


class RequestOut(BaseModel):
    id: UUID
    case_number: str
    incident_type: str
    status: str
    radius_m: int
    window_start: datetime
    window_end: datetime
    deadline: datetime | None
    rejection_reason: str | None = Field(
        default=None, description="the supervisor's reason, once the request is rejected")
    case_closed_at: datetime | None = Field(
        default=None, description="when the agency closed the case (its legal holds ended)")

    @classmethod
    def of(cls, r: VideoRequest) -> RequestOut:
        return cls(id=r.id, case_number=r.case_number, incident_type=r.incident_type.value,
                   status=r.status.value, radius_m=r.radius_m, window_start=r.window_start,
                   window_end=r.window_end, deadline=r.deadline,
                   rejection_reason=r.rejection_reason, case_closed_at=r.case_closed_at)


class EvidenceOut(BaseModel):
    id: UUID
    covers_from: datetime
    covers_to: datetime
    source_sha256: str
    sha256: str
    expires_at: datetime


class RequestDetailOut(RequestOut):
    delivered: int | None
    shared: int
    declined: int | None
    no_response: int | None
    evidence: list[EvidenceOut]


@router.get("/requests", response_model=list[RequestOut])
def list_requests(uow: UowDep, actor: ActorDep) -> list[RequestOut]:
    return [RequestOut.of(r) for r in video_requests.agency_requests(uow, actor)]


@router.post("/requests", response_model=RequestOut, status_code=201)
def create_request(body: RequestIn, uow: UowDep, container: ContainerDep,
                   actor: ActorDep) -> RequestOut:
    request_id = video_requests.create_request(uow, container.requests_kit, actor,
                                               body.command())
    return RequestOut.of(video_requests.get_request(uow, actor, request_id))


class ReachOut(BaseModel):
    """How many opted-in cameras there are about there, as coarsely as disclosure allows:
    counted around the centre of the ~200 m grid square the point is in, within the radius
    rounded up to 100 m (so the preview cannot single out a house)."""

    radius_m: int = Field(description="the radius counted: the one asked, rounded up")
    at_least: int | None = Field(description="rounded down to a multiple of the minimum "
                                 "group size; null below it (no number is told)")
    at_most: int | None
    fewer_than: int | None = Field(description="the minimum group size, when below it")
    text: str


# Declared before /requests/{request_id}, which would otherwise take "reach" for an id.
@router.get("/requests/reach", response_model=ReachOut,
            responses={429: {"model": ErrorBody}})
def reach_preview(uow: UowDep, container: ContainerDep, actor: ActorDep,
                  lat: Annotated[float, Query(ge=-90, le=90)],
                  lon: Annotated[float, Query(ge=-180, le=180)],
                  radius_m: Annotated[int, Query(
                      description="metres: one a request may have, from 10 m to the "
                                  "deployment's cap (650 m by default); refused with 422 "
                                  "naming that range otherwise")]) -> ReachOut:
    """Agency staff drafting a request: how many opted-in cameras this circle reaches.

    Fewer than the minimum group size (5) gives no number; above it the count is rounded
    down to a multiple of 5 ("10 to 14"). The radius must be one a request may have. Each
    preview is audited (agency, role, radius, rounded answer; not the place) and each
    account may preview only so often (429 beyond it)."""
    found = reach.preview_reach(uow, container.requests_kit.policy, actor, LatLon(lat, lon),
                                radius_m)
    return ReachOut(radius_m=found.radius_m or radius_m, at_least=found.at_least,
                    at_most=found.at_most,
                    fewer_than=found.step if found.at_least is None else None,
                    text=found.text)


@router.get("/requests/{request_id}", response_model=RequestDetailOut)
def get_request(request_id: UUID, uow: UowDep, container: ContainerDep,
                actor: ActorDep) -> RequestDetailOut:
    found = video_requests.get_request(uow, actor, request_id)
    counts = video_requests.counts(uow, container.requests_kit, actor, request_id)
    items = [EvidenceOut(id=i.id, covers_from=i.covers_from, covers_to=i.covers_to,
                         source_sha256=i.source_sha256, sha256=i.sha256,
                         expires_at=i.expires_at)
             for i in evidence.agency_evidence(uow, actor, request_id)]
    return RequestDetailOut(**RequestOut.of(found).model_dump(), delivered=counts.delivered,
                            shared=counts.shared, declined=counts.declined,
                            no_response=counts.no_response, evidence=items)


@router.post("/requests/{request_id}/approve", response_model=RequestOut)
def approve(request_id: UUID, body: ApprovalIn, uow: UowDep, container: ContainerDep,
            actor: ActorDep) -> RequestOut:
    video_requests.approve(uow, container.requests_kit, actor, body.command(request_id))
    return RequestOut.of(video_requests.get_request(uow, actor, request_id))


@router.get("/inbox")
def my_inbox(uow: UowDep, actor: ActorDep) -> list[dict]:
    return [{"delivery_id": str(i.delivery.id), "status": i.delivery.status.value,
             "agency": i.agency.name, "case_number": i.request.case_number,
             "request_status": i.request.status.value} for i in answers.inbox(uow, actor)]


@router.get("/inbox/{delivery_id}")
def disclosure(delivery_id: UUID, uow: UowDep, actor: ActorDep) -> dict:
    """The full disclosure, and its SHA-256 that a consent must quote; once the agency
    keeps copies of the resident's clips, ``agency_copy`` says until when and which legal
    holds keep them (who set each, by role, its dates; not the agency's reason);
    ``reshares`` lists each agency a copy was shared on to, when, why, until when at most,
    and whether the copy is kept."""
    _, shown = answers.disclosure(uow, actor, delivery_id)
    return {"disclosure": asdict(shown), "disclosure_sha256": shown.sha256,
            "agency_copy": _agency_copy(holds.copy_for_owner(uow, actor, delivery_id)),
            "reshares": [{"from_agency": n.from_agency, "to_agency": n.to_agency,
                          "to_agency_kind": n.to_kind, "shared_at": n.shared_at.isoformat(),
                          "reason": n.reason, "delete_by": n.delete_by.isoformat(),
                          "copy_state": n.copy_state}
                         for n in reshare.shares_for_owner(uow, actor, delivery_id)]}


def _agency_copy(copy: holds.AgencyCopy | None) -> dict | None:
    if copy is None:
        return None
    return {"copies": copy.copies, "delete_by": copy.delete_by.isoformat(),
            "legal_holds": [{"agency": h.agency, "set_by_role": h.set_by_role,
                             "set_at": h.set_at.isoformat(), "until": h.until.isoformat(),
                             "active": h.active,
                             "released_at": h.released_at.isoformat() if h.released_at
                             else None, "end_cause": h.end_cause} for h in copy.holds]}


@router.post("/inbox/{delivery_id}/consent", status_code=201)
def consent(delivery_id: UUID, body: ConsentIn, uow: UowDep, container: ContainerDep,
            actor: ActorDep) -> dict:
    consent_id = answers.give_consent(uow, actor, body.command(delivery_id))
    # the copies are made by a job after this answer (kernel.services.messagebus)
    job = jobs.job_state(uow, evidence_job_key(consent_id))
    return {"consent_id": str(consent_id),
            "evidence_job": {"state": job.state.value if job else "unknown",
                             "done": job.progress_done if job else 0,
                             "total": job.progress_total if job else None}}


@router.post("/inbox/{delivery_id}/decline", status_code=204)
def decline(delivery_id: UUID, uow: UowDep, actor: ActorDep) -> None:
    answers.decline(uow, actor, DeclineRequest(delivery_id))


@router.post("/requests/{request_id}/reject", response_model=RequestOut)
def reject(request_id: UUID, body: RejectionIn, uow: UowDep, actor: ActorDep) -> RequestOut:
    """A supervisor of the agency rejects a request awaiting approval, saying why."""
    video_requests.reject(uow, actor, body.command(request_id))
    return RequestOut.of(video_requests.get_request(uow, actor, request_id))


@router.post("/requests/{request_id}/withdraw", response_model=RequestOut)
def withdraw(request_id: UUID, uow: UowDep, actor: ActorDep) -> RequestOut:
    video_requests.withdraw(uow, actor, WithdrawVideoRequest(request_id))
    return RequestOut.of(video_requests.get_request(uow, actor, request_id))


@router.post("/inbox/{delivery_id}/revoke", status_code=204)
def revoke(delivery_id: UUID, uow: UowDep, container: ContainerDep, actor: ActorDep) -> None:
    """Take a consent back before the agency first opened the evidence; copies are destroyed."""
    answers.revoke_consent(uow, container.footage.store, actor, RevokeConsent(delivery_id))


@router.post("/inbox/{delivery_id}/deletion", status_code=204)
def ask_for_deletion(delivery_id: UUID, uow: UowDep, actor: ActorDep) -> None:
    """After the agency opened the evidence: ask it to delete; the agency sees the request."""
    answers.ask_for_deletion(uow, actor, AskForDeletion(delivery_id))
