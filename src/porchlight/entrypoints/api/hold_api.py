"""JSON API for legal holds on a case's evidence: the agency's staff read them, its
supervisors set and release them and close the case (which ends them). What the resident
is told is in the delivery (``GET /api/v1/inbox/{delivery_id}``, ``agency_copy``)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from porchlight.custody.services import holds
from porchlight.custody.services.commands import CloseCase, ReleaseLegalHold
from porchlight.entrypoints.api.request_api import RequestOut
from porchlight.entrypoints.api.routes import ERROR_RESPONSES
from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.inputs import HoldIn
from porchlight.requests.services import video_requests

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["requests"])


class HoldOut(BaseModel):
    id: UUID
    reason: str = Field(description="the agency's own text; residents are not shown it")
    set_at: datetime
    set_by_role: str
    until: datetime
    active: bool = Field(description="not released, and its end date not reached")
    released_at: datetime | None
    end_cause: str | None = Field(description="released or case_closed, when it ended "
                                  "before its end date")

    @classmethod
    def of(cls, view: holds.HoldView) -> HoldOut:
        hold = view.hold
        return cls(id=hold.id, reason=hold.reason, set_at=hold.set_at,
                   set_by_role=hold.set_by_role, until=hold.until, active=view.active,
                   released_at=hold.released_at, end_cause=hold.end_cause)


def _hold(uow: UowDep, container: ContainerDep, actor: ActorDep, request_id: UUID,
          hold_id: UUID) -> HoldOut:
    found = holds.case_holds(uow, container.requests_kit.policy, actor, request_id)
    return next(HoldOut.of(view) for view in found.holds if view.hold.id == hold_id)


@router.get("/requests/{request_id}/holds", response_model=list[HoldOut])
def list_holds(request_id: UUID, uow: UowDep, container: ContainerDep,
               actor: ActorDep) -> list[HoldOut]:
    """Every legal hold ever set on the request's case, newest first (its agency's staff)."""
    found = holds.case_holds(uow, container.requests_kit.policy, actor, request_id)
    return [HoldOut.of(view) for view in found.holds]


@router.post("/requests/{request_id}/holds", response_model=HoldOut, status_code=201)
def set_hold(request_id: UUID, body: HoldIn, uow: UowDep, container: ContainerDep,
             actor: ActorDep) -> HoldOut:
    """A supervisor of the agency keeps the case's evidence until ``until`` at least; when
    the hold ends the promised retention runs again from its end. 409 when the case is
    closed or no evidence can come for the request."""
    hold_id = holds.set_hold(uow, container.requests_kit.policy, actor, body.command(request_id))
    return _hold(uow, container, actor, request_id, hold_id)


@router.post("/requests/{request_id}/holds/{hold_id}/release", response_model=HoldOut)
def release_hold(request_id: UUID, hold_id: UUID, uow: UowDep, container: ContainerDep,
                 actor: ActorDep) -> HoldOut:
    """A supervisor lets a hold go: the promised retention runs again from now."""
    holds.release_hold(uow, actor, ReleaseLegalHold(request_id, hold_id))
    return _hold(uow, container, actor, request_id, hold_id)


@router.post("/requests/{request_id}/close-case", response_model=RequestOut)
def close_case(request_id: UUID, uow: UowDep, actor: ActorDep) -> RequestOut:
    """A supervisor records that the case is over (once residents can no longer answer):
    every hold on it ends, and the promised retention runs again from now."""
    holds.close_case(uow, actor, CloseCase(request_id))
    return RequestOut.of(video_requests.get_request(uow, actor, request_id))
