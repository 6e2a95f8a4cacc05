"""JSON API for "where is my footage" (the resident) and deletion requests (the agency)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from porchlight.custody.services import deletions
from porchlight.entrypoints.api.routes import ERROR_RESPONSES
from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.inputs import DeletionAnswerIn
from porchlight.entrypoints.web.footage_pages import answer_days, footage_document

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["evidence"])


@router.get("/me/footage")
def my_footage(container: ContainerDep, actor: ActorDep) -> dict[str, Any]:
    """Every evidence item made from your clips (re-shared copies included), by clip: who
    holds it and on what basis, plays and exports, legal holds, deletion date or when and
    why it was deleted, the answer to a deletion request, and each custody event with its
    audit leaf and inclusion proof: check it with
    `porchlight audit check-footage FILE --key KEY`."""
    return footage_document(container, actor)


class DeletionTaskOut(BaseModel):
    consent_id: UUID = Field(description="what to answer (the consent the footage came under)")
    request_id: UUID
    case_number: str
    requested_at: datetime
    due: datetime
    overdue: bool
    evidence_ids: list[UUID]
    answer: str | None = Field(description="deleted or kept, once answered")
    answered_at: datetime | None
    hold_ids: list[UUID] = Field(description="active legal holds a kept answer may name")

    @classmethod
    def of(cls, task: deletions.DeletionTask) -> DeletionTaskOut:
        return cls(consent_id=task.consent_id, request_id=task.request_id,
                   case_number=task.case_number, requested_at=task.requested_at,
                   due=task.due, overdue=task.overdue,
                   evidence_ids=[i.id for i in task.items], answer=task.answer,
                   answered_at=task.answered_at, hold_ids=[h.id for h in task.holds])


@router.get("/agency/deletion-requests", response_model=list[DeletionTaskOut])
def deletion_requests(uow: UowDep, container: ContainerDep, actor: ActorDep
                      ) -> list[DeletionTaskOut]:
    """Your agency's deletion requests from owners: open ones (most urgent first), then
    answered ones."""
    return [DeletionTaskOut.of(t) for t in deletions.agency_tasks(
        uow, actor, answer_days=answer_days(container))]


@router.post("/deletion-requests/{consent_id}/answer", response_model=DeletionTaskOut)
def answer_deletion_request(consent_id: UUID, body: DeletionAnswerIn, uow: UowDep,
                            container: ContainerDep, actor: ActorDep) -> DeletionTaskOut:
    """A supervisor or agency admin of the holding agency answers: deleted (purged now;
    the owner is told) or kept under an active legal hold on the case."""
    deletions.answer_deletion(uow, actor, body.command(consent_id))
    return next(DeletionTaskOut.of(t) for t in deletions.agency_tasks(
        uow, actor, answer_days=answer_days(container)) if t.consent_id == consent_id)
