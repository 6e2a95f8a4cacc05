"""The agency's pages: its requests, a new request, approval, withdrawal, received evidence,
legal holds on it and the closing of the case."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from porchlight.custody.services import deletions, evidence, holds, reshare
from porchlight.custody.services.commands import CloseCase, ReleaseLegalHold
from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.inputs import ApprovalIn, HoldIn, RejectionIn, RequestIn
from porchlight.entrypoints.methods import head_only
from porchlight.entrypoints.web.clip_pages import ranged_response
from porchlight.entrypoints.web.forms import Posted, submit
from porchlight.entrypoints.web.render import render, see_other
from porchlight.entrypoints.web.when import viewer_zone, zone_named
from porchlight.jobs.services import jobs
from porchlight.kernel.services.messagebus import delivery_job_key
from porchlight.requests.domain.requests import IncidentType
from porchlight.requests.services import review as request_review
from porchlight.requests.services import video_requests
from porchlight.requests.services.commands import WithdrawVideoRequest

router = APIRouter(include_in_schema=False)


def _requests_page(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
                   status: int = 200, **extra) -> Response:
    return render(request, "requests.html", status,
                  requests=video_requests.agency_requests(uow, me),
                  incident_types=[(t.value, t.label) for t in IncidentType],
                  choices=request_review.form_choices(uow, me),
                  deletion_tasks=deletions.agency_tasks(
                      uow, me, answer_days=container.requests_kit.policy.deletion_answer_days),
                  **extra)


@router.get("/requests", response_class=HTMLResponse)
def requests_page(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep
                  ) -> Response:
    return _requests_page(request, uow, container, me)


@router.post("/requests", response_class=HTMLResponse)
def create(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
           values: Posted) -> Response:
    def send(form: RequestIn) -> Response:
        request_id = video_requests.create_request(uow, container.requests_kit, me,
                                                   form.command())
        return see_other(f"/requests/{request_id}")

    zone = zone_named(str(values.get("tz", ""))) or viewer_zone(request)
    return submit(RequestIn, values, send, lambda errors: _requests_page(
        request, uow, container, me, 422, form=values, errors=errors),
        aliases={"location": "lat"}, zone=zone)


def _detail_page(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
                 request_id: UUID, status: int = 200, **extra) -> Response:
    kit = container.requests_kit
    today = uow.clock.now().astimezone(viewer_zone(request)).date()  # the hold form's bounds
    return render(request, "request.html", status,
                  review=request_review.review(uow, kit.policy, me, request_id),
                  counts=video_requests.counts(uow, kit, me, request_id),
                  items=evidence.agency_evidence(uow, me, request_id),
                  shares=reshare.request_shares(uow, me, request_id),
                  contacts=evidence.shared_contacts(uow, container.security, me, request_id),
                  holds=holds.case_holds(uow, kit.policy, me, request_id),
                  today=today, last_day=today + timedelta(days=kit.policy.max_retention_days - 1),
                  delivery_job=jobs.job_state(uow, delivery_job_key(request_id)), **extra)


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def detail(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
           request_id: UUID) -> Response:
    return _detail_page(request, uow, container, me, request_id)


@router.post("/requests/{request_id}/approve", response_class=HTMLResponse)
def approve(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
            request_id: UUID, values: Posted) -> Response:
    def decide(form: ApprovalIn) -> Response:
        video_requests.approve(uow, container.requests_kit, me, form.command(request_id))
        return see_other(f"/requests/{request_id}")

    return submit(ApprovalIn, values, decide, lambda errors: _detail_page(
        request, uow, container, me, request_id, 422, form=values, errors=errors))


@router.post("/requests/{request_id}/reject", response_class=HTMLResponse)
def reject(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
           request_id: UUID, values: Posted) -> Response:
    """A reason is required: the officer reads it on the request's page."""
    def decide(form: RejectionIn) -> Response:
        video_requests.reject(uow, me, form.command(request_id))
        return see_other(f"/requests/{request_id}")

    return submit(RejectionIn, values, decide, lambda errors: _detail_page(
        request, uow, container, me, request_id, 422, form=values, errors=errors))


@router.post("/requests/{request_id}/withdraw", response_class=HTMLResponse)
def withdraw(request: Request, uow: UowDep, me: ActorDep, request_id: UUID,
             confirm: Annotated[str, Form()] = "") -> Response:
    """Withdrawing is final: the first post asks, the confirmed one withdraws."""
    if confirm != "yes":
        found = video_requests.get_request(uow, me, request_id)
        return render(request, "confirm.html", title="Withdraw this request?",
                      message=f"Request {found.case_number} closes now: residents can no longer "
                              "answer it, and it cannot be reopened. Footage already shared "
                              "stays under its consent.",
                      action=f"/requests/{request_id}/withdraw",
                      confirm_label="Yes, withdraw it", back=f"/requests/{request_id}")
    video_requests.withdraw(uow, me, WithdrawVideoRequest(request_id))
    return see_other(f"/requests/{request_id}")


@router.post("/requests/{request_id}/holds", response_class=HTMLResponse)
def set_hold(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
             request_id: UUID, values: Posted) -> Response:
    """A supervisor keeps the case's evidence through the day given, for a reason."""
    def keep(form: HoldIn) -> Response:
        holds.set_hold(uow, container.requests_kit.policy, me, form.command(request_id))
        return see_other(f"/requests/{request_id}#holds")

    zone = zone_named(str(values.get("tz", ""))) or viewer_zone(request)
    return submit(HoldIn, values, keep, lambda errors: _detail_page(
        request, uow, container, me, request_id, 422, form=values, errors=errors), zone=zone)


@router.post("/requests/{request_id}/holds/{hold_id}/release", response_class=HTMLResponse)
def release_hold(request: Request, uow: UowDep, me: ActorDep, request_id: UUID,
                 hold_id: UUID, confirm: Annotated[str, Form()] = "") -> Response:
    """Releasing restarts the retention clock: the first post asks, the confirmed one acts."""
    if confirm != "yes":
        found = holds.supervised_request(uow, me, request_id, "release a legal hold")
        return render(request, "confirm.html", title="Release this legal hold?",
                      message=f"The evidence of case {found.case_number} is then kept "
                              f"{found.retention_days} more days from now, as promised, "
                              "unless another hold keeps it. A released hold cannot be "
                              "taken back; a new one can be set.",
                      action=f"/requests/{request_id}/holds/{hold_id}/release",
                      confirm_label="Yes, release it", back=f"/requests/{request_id}#holds")
    holds.release_hold(uow, me, ReleaseLegalHold(request_id, hold_id))
    return see_other(f"/requests/{request_id}#holds")


@router.post("/requests/{request_id}/close-case", response_class=HTMLResponse)
def close_case(request: Request, uow: UowDep, me: ActorDep, request_id: UUID,
               confirm: Annotated[str, Form()] = "") -> Response:
    """Closing the case is final: the first post asks, the confirmed one closes it."""
    if confirm != "yes":
        found = holds.supervised_request(uow, me, request_id, "close a case")
        return render(request, "confirm.html", title="Close this case?",
                      message=f"Case {found.case_number} is recorded as closed. Every legal "
                              "hold on its evidence ends now, and the evidence is kept "
                              f"{found.retention_days} more days from now, as promised, then "
                              "deleted. No new hold can be set on it.",
                      action=f"/requests/{request_id}/close-case",
                      confirm_label="Yes, close the case", back=f"/requests/{request_id}")
    holds.close_case(uow, me, CloseCase(request_id))
    return see_other(f"/requests/{request_id}#holds")


@router.get("/evidence/{evidence_id}/video")
async def evidence_video(request: Request, container: ContainerDep, me: ActorDep,
                         evidence_id: UUID) -> Response:
    header = request.headers.get("range")
    # Every byte an agency reads is custody: each request, whatever its range, is audited
    # and counts as opening the evidence (which ends the resident's right to revoke).
    item, data_key = await run_in_threadpool(
        evidence.open_evidence, container.uow(), container.footage, me, evidence_id,
        record=not head_only(request.scope))  # a HEAD reads no footage: not a view
    media = "video/webm" if item.container in ("webm", "matroska") else "video/mp4"
    return ranged_response(
        header, item.size_bytes, media,
        lambda start, end: container.footage.store.read(item.object_key, data_key, start, end))
