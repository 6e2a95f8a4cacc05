"""The resident's inbox: every request delivered to them, the disclosure, and their answer."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from porchlight.custody.services import deletions, demand_views, holds, reshare
from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.inputs import ConsentIn
from porchlight.entrypoints.web.forms import Posted, submit
from porchlight.entrypoints.web.render import render, see_other
from porchlight.jobs.services import jobs
from porchlight.kernel.services.messagebus import evidence_job_key
from porchlight.redaction.services import copies as redaction
from porchlight.requests.domain.consent import SharingScope
from porchlight.requests.services import answers
from porchlight.requests.services.commands import (
    AskForDeletion,
    DeclineRequest,
    RevokeConsent,
)

router = APIRouter(include_in_schema=False)


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, uow: UowDep, me: ActorDep) -> Response:
    return render(request, "inbox.html", items=answers.inbox(uow, me),
                  legal_notices=demand_views.owner_notices(uow, me))


def _item_page(request: Request, uow: UowDep, me: ActorDep, delivery_id: UUID,
               status: int = 200, **extra) -> Response:
    item, shown = answers.disclosure(uow, me, delivery_id)
    mine = answers.my_consent(uow, me, delivery_id)
    evidence_job = jobs.job_state(uow, evidence_job_key(mine.consent.id)) if mine else None
    copy = holds.copy_for_owner(uow, me, delivery_id) if mine else None
    shares = reshare.shares_for_owner(uow, me, delivery_id) if mine else []
    answered = deletions.answers_for_owner(
        uow, me, delivery_id,
        answer_days=request.app.state.container.requests_kit.policy.deletion_answer_days,
    ) if mine else []
    blurred = redaction.approved_copies(uow, me, [UUID(c.id) for c in shown.clips]
                                        ) if not mine else {}
    return render(request, "inbox_item.html", status, item=item, shown=shown,
                  scopes=list(SharingScope), mine=mine, evidence_job=evidence_job,
                  copy=copy, shares=shares, answered=answered,
                  blurred={str(k): v for k, v in blurred.items()}, **extra)


@router.get("/inbox/{delivery_id}", response_class=HTMLResponse)
def item(request: Request, uow: UowDep, me: ActorDep, delivery_id: UUID) -> Response:
    return _item_page(request, uow, me, delivery_id)


@router.post("/inbox/{delivery_id}/consent", response_class=HTMLResponse)
def consent(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
            delivery_id: UUID, values: Posted) -> Response:
    def give(form: ConsentIn) -> Response:
        # the copies are made by a job (kernel.services.messagebus)
        answers.give_consent(uow, me, form.command(delivery_id))
        return see_other(f"/inbox/{delivery_id}")

    return submit(ConsentIn, values, give, lambda errors: _item_page(
        request, uow, me, delivery_id, 422, form=values, errors=errors))


@router.post("/inbox/{delivery_id}/decline", response_class=HTMLResponse)
def decline(request: Request, uow: UowDep, me: ActorDep, delivery_id: UUID,
            confirm: Annotated[str, Form()] = "") -> Response:
    """Declining is final: the first post asks, the confirmed one declines."""
    if confirm != "yes":
        item, _ = answers.disclosure(uow, me, delivery_id)
        return render(request, "confirm.html", title="Decline this request?",
                      message=f"Nothing will be sent to {item.agency.name}, and you will not "
                              "be able to share footage for this request later. The agency "
                              "never learns who declined.",
                      action=f"/inbox/{delivery_id}/decline", confirm_label="Yes, decline",
                      back=f"/inbox/{delivery_id}")
    answers.decline(uow, me, DeclineRequest(delivery_id))
    return see_other("/inbox")


@router.post("/inbox/{delivery_id}/revoke", response_class=HTMLResponse)
def revoke(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
           delivery_id: UUID, confirm: Annotated[str, Form()] = "") -> Response:
    """Taking consent back destroys the copies: the first post asks, the confirmed one acts."""
    if confirm != "yes":
        item, _ = answers.disclosure(uow, me, delivery_id)
        return render(request, "confirm.html", title="Take your consent back?",
                      message=f"The copies made for {item.agency.name} are destroyed now, and "
                              "you cannot share footage for this request again. Your own "
                              "clips stay as they are.",
                      action=f"/inbox/{delivery_id}/revoke",
                      confirm_label="Yes, take it back", back=f"/inbox/{delivery_id}")
    answers.revoke_consent(uow, container.footage.store, me, RevokeConsent(delivery_id))
    return see_other(f"/inbox/{delivery_id}")


@router.post("/inbox/{delivery_id}/deletion")
def deletion(uow: UowDep, me: ActorDep, delivery_id: UUID) -> Response:
    answers.ask_for_deletion(uow, me, AskForDeletion(delivery_id))
    return see_other(f"/inbox/{delivery_id}")
