"""Where is my footage (the resident's page and its JSON download), and the agency's
deletion requests to answer."""

from __future__ import annotations

import json
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from porchlight.custody.services import deletions, footage_map
from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.inputs import DeletionAnswerIn
from porchlight.entrypoints.web.forms import Posted, submit
from porchlight.entrypoints.web.render import render, see_other

router = APIRouter(include_in_schema=False)


def answer_days(container: ContainerDep) -> int:
    return container.requests_kit.policy.deletion_answer_days


def my_footage(container: ContainerDep, me: ActorDep) -> footage_map.FootageMap:
    return footage_map.footage_map(container.uow(), container.audit_store(), me,
                                   answer_days=answer_days(container))


def footage_document(container: ContainerDep, me: ActorDep) -> dict:
    return footage_map.document(my_footage(container, me), container.settings.origin,
                                container.audit_key_if_any())


@router.get("/footage", response_class=HTMLResponse)
def footage_page(request: Request, container: ContainerDep, me: ActorDep) -> Response:
    """Every copy of the resident's clips that agencies hold or held, in plain words."""
    found = my_footage(container, me)
    return render(request, "footage.html", found=found, key=container.audit_key_if_any())


@router.get("/footage.json")
def footage_download(container: ContainerDep, me: ActorDep) -> Response:
    """The same, as JSON with the audit leaves and proofs (`porchlight audit check-footage`)."""
    return Response(json.dumps(footage_document(container, me), indent=1),
                    media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="my-footage.json"',
                             "Cache-Control": "no-store"})


def _tasks_page(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
                status: int = 200, **extra) -> Response:
    return render(request, "deletion_requests.html", status,
                  tasks=deletions.agency_tasks(uow, me, answer_days=answer_days(container)),
                  days=answer_days(container), **extra)


@router.get("/deletion-requests", response_class=HTMLResponse)
def tasks_page(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep
               ) -> Response:
    """The agency's deletion requests: open ones with their due dates, then answered."""
    return _tasks_page(request, uow, container, me)


@router.post("/deletion-requests/{consent_id}/answer", response_class=HTMLResponse)
def answer(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
           consent_id: UUID, values: Posted) -> Response:
    """A supervisor answers: deleted now, or kept under a named legal hold."""
    def send(form: DeletionAnswerIn) -> Response:
        deletions.answer_deletion(uow, me, form.command(consent_id))
        return see_other("/deletion-requests")

    return submit(DeletionAnswerIn, values, send, lambda errors: _tasks_page(
        request, uow, container, me, 422, form=values, errors=errors,
        failed=str(consent_id)))
