"""The platform admins' moderation queue for the feed: reported posts and comments,
removal with a reason the author is shown, restoring, dismissing a report."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from porchlight.entrypoints.deps import ActorDep, UowDep
from porchlight.entrypoints.web.forms import FormModel, Posted, submit
from porchlight.entrypoints.web.render import render, see_other
from porchlight.feed.domain.moderation import Reason
from porchlight.feed.services import moderation

router = APIRouter(include_in_schema=False)
QUEUE = "/admin/moderation"


def _page(request: Request, uow: UowDep, me: ActorDep, status: int = 200, **extra
          ) -> HTMLResponse:
    found = moderation.queue(uow, me)
    return render(request, "admin_moderation.html", status, queue=found,
                  reasons=[(r.value, r.label) for r in Reason], **extra)


@router.get(QUEUE, response_class=HTMLResponse)
def queue(request: Request, uow: UowDep, me: ActorDep) -> HTMLResponse:
    return _page(request, uow, me)


class RemoveForm(FormModel):
    reason: Reason
    note: str = Field(min_length=1, max_length=1000)


def _remove(request: Request, uow: UowDep, me: ActorDep, values: Posted, target: UUID,
            action) -> Response:
    def remove(form: RemoveForm) -> Response:
        action(uow, me, target, form.reason, form.note)
        return see_other(QUEUE)

    return submit(RemoveForm, values, remove, lambda errors: _page(
        request, uow, me, 422, form=values, errors=errors, failed=target))


@router.post(QUEUE + "/posts/{post_id}/remove", response_class=HTMLResponse)
def remove_post(request: Request, uow: UowDep, me: ActorDep, post_id: UUID,
                values: Posted) -> Response:
    return _remove(request, uow, me, values, post_id, moderation.remove_post)


@router.post(QUEUE + "/posts/{post_id}/restore")
def restore_post(uow: UowDep, me: ActorDep, post_id: UUID) -> Response:
    moderation.restore_post(uow, me, post_id)
    return see_other(QUEUE)


@router.post(QUEUE + "/comments/{comment_id}/remove", response_class=HTMLResponse)
def remove_comment(request: Request, uow: UowDep, me: ActorDep, comment_id: UUID,
                   values: Posted) -> Response:
    return _remove(request, uow, me, values, comment_id, moderation.remove_comment)


@router.post(QUEUE + "/comments/{comment_id}/restore")
def restore_comment(uow: UowDep, me: ActorDep, comment_id: UUID) -> Response:
    moderation.restore_comment(uow, me, comment_id)
    return see_other(QUEUE)


@router.post(QUEUE + "/reports/{report_id}/dismiss")
def dismiss(uow: UowDep, me: ActorDep, report_id: UUID) -> Response:
    moderation.dismiss_report(uow, me, report_id)
    return see_other(QUEUE)
