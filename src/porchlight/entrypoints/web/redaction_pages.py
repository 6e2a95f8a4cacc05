"""Blurring bystanders: the owner asks for a redacted copy of a clip, watches it being
made, previews it, keeps chosen faces visible or covers more, and approves it."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.inputs import RedactionIn
from porchlight.entrypoints.web.clip_pages import PRIVATE, ranged_response
from porchlight.entrypoints.web.forms import Posted, submit
from porchlight.entrypoints.web.render import render, see_other
from porchlight.jobs.services import jobs
from porchlight.kernel.domain.errors import NotFound
from porchlight.kernel.services.messagebus import redaction_job_key
from porchlight.redaction.domain.options import Style
from porchlight.redaction.services import copies

router = APIRouter(include_in_schema=False)


def _clip_page(request: Request, uow: UowDep, me: ActorDep, clip_id: UUID,
               status: int = 200, **extra) -> Response:
    clip, made = copies.copies_of(uow, me, clip_id)
    return render(request, "redact.html", status, clip=clip, copies=made,
                  styles=list(Style), **extra)


@router.get("/clips/{clip_id}/redact", response_class=HTMLResponse)
def redact_page(request: Request, uow: UowDep, me: ActorDep, clip_id: UUID) -> Response:
    return _clip_page(request, uow, me, clip_id)


@router.post("/clips/{clip_id}/redact", response_class=HTMLResponse)
def redact(request: Request, uow: UowDep, me: ActorDep, clip_id: UUID,
           values: Posted) -> Response:
    def ask(form: RedactionIn) -> Response:
        # the copy is made by the `redaction.make` job (kernel.services.messagebus)
        copy_id = copies.request_copy(uow, me, clip_id, form.options())
        return see_other(f"/redactions/{copy_id}")

    return submit(RedactionIn, values, ask, lambda errors: _clip_page(
        request, uow, me, clip_id, 422, form=values, errors=errors))


def _copy_page(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
               copy_id: UUID, status: int = 200, **extra) -> Response:
    copy, clip = copies.get_copy(uow, me, copy_id)
    shots = copies.snapshots(uow, container.security.vault, me, copy_id)
    tracks = (copy.provenance or {}).get("tracks", [])
    return render(request, "redaction.html", status, copy=copy, clip=clip, shots=shots,
                  tracks=tracks, job=jobs.job_state(uow, redaction_job_key(copy.id)),
                  options=copy.redaction_options, **extra)


@router.get("/redactions/{copy_id}", response_class=HTMLResponse)
def copy_page(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
              copy_id: UUID) -> Response:
    return _copy_page(request, uow, container, me, copy_id)


@router.post("/redactions/{copy_id}/again", response_class=HTMLResponse)
def again(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
          copy_id: UUID, values: Posted) -> Response:
    """A new copy from this one's page: its trim and style, the faces ticked to keep, the
    areas still ticked and a new one. A mistake re-shows this page, with what was typed."""
    _, clip = copies.get_copy(uow, me, copy_id)
    kept = values.get("boxes", [])
    kept = [kept] if isinstance(kept, str) else list(kept)
    added = values.get("new_box", "")
    added = added if isinstance(added, str) else (added[-1] if added else "")
    asked = {**values, "boxes": kept + ([added] if added.strip() else [])}

    def ask(form: RedactionIn) -> Response:
        return see_other(f"/redactions/{copies.request_copy(uow, me, clip.id, form.options())}")

    return submit(RedactionIn, asked, ask, lambda errors: _copy_page(
        request, uow, container, me, copy_id, 422, form=values,
        errors={"new_box" if k == "boxes" else k: v for k, v in errors.items()}))


@router.get("/redactions/{copy_id}/video")
async def copy_video(request: Request, container: ContainerDep, me: ActorDep,
                     copy_id: UUID) -> Response:
    opened = await run_in_threadpool(copies.open_copy, container.uow(),
                                     container.security.vault, me, copy_id)
    store = container.footage.store
    return ranged_response(
        request.headers.get("range"), opened.copy.size_bytes, opened.media_type,
        lambda start, end: store.read(opened.copy.object_key, opened.data_key, start, end))


@router.get("/redactions/{copy_id}/{kind}/{number}.jpg")
def copy_image(uow: UowDep, container: ContainerDep, me: ActorDep, copy_id: UUID,
               kind: str, number: int) -> Response:
    shots = copies.snapshots(uow, container.security.vault, me, copy_id)
    images = {"check": shots.check, "faces": [f.image for f in shots.faces]}.get(kind, [])
    if not 0 <= number < len(images):
        raise NotFound("no such image")
    return Response(images[number], media_type="image/jpeg", headers=PRIVATE)


@router.post("/redactions/{copy_id}/approve")
def approve(uow: UowDep, me: ActorDep, copy_id: UUID) -> Response:
    copies.approve(uow, me, copy_id)
    return see_other(f"/redactions/{copy_id}")


@router.post("/redactions/{copy_id}/delete", response_class=HTMLResponse)
def delete(request: Request, uow: UowDep, me: ActorDep, copy_id: UUID,
           confirm: Annotated[str, Form()] = "") -> Response:
    """The first post asks, the confirmed one deletes."""
    _, clip = copies.get_copy(uow, me, copy_id)
    if confirm != "yes":
        return render(request, "confirm.html", title="Delete this blurred copy?",
                      message="Its key is destroyed at once and it cannot be recovered. "
                              "Your clip is not affected, nor is a copy an agency already "
                              "received.",
                      action=f"/redactions/{copy_id}/delete", confirm_label="Yes, delete it",
                      back=f"/redactions/{copy_id}")
    copies.discard(uow, me, copy_id)
    return see_other(f"/clips/{clip.id}/redact")
