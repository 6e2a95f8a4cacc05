"""JSON API for redacted copies: the clip's owner asks for one (a job makes it), follows
its progress, plays it, approves or deletes it. Nobody else sees a copy until the owner
shares it (``blur`` in the consent)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from porchlight.entrypoints.api.routes import ERROR_RESPONSES
from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.inputs import RedactionIn
from porchlight.entrypoints.web.clip_pages import ranged_response
from porchlight.jobs.services import jobs
from porchlight.kernel.services.messagebus import redaction_job_key
from porchlight.redaction.domain.copies import RedactedCopy
from porchlight.redaction.services import copies

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["clips"])
VIDEO = {"200": {"content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}},
                 "description": "the copy (HTTP Range honoured)"}}


class CopyOut(BaseModel):
    id: UUID
    clip_id: UUID
    status: str = Field(description="queued, ready, approved, failed or purged")
    options: dict[str, Any] = Field(description="what the owner asked for")
    created_at: datetime
    progress_done: int | None = Field(description="frames done, while it is being made")
    progress_total: int | None
    parent_sha256: str = Field(description="SHA-256 of the clip it was made from")
    sha256: str | None
    size_bytes: int | None
    detector: str | None
    detector_version: str | None
    faces: int | None = Field(description="faces (tracks) found")
    low_confidence: list[dict[str, Any]] | None = Field(
        description="the frames the detector was least sure of: check them")
    failure: str | None
    approved_at: datetime | None

    @classmethod
    def of(cls, copy: RedactedCopy, uow: UowDep) -> CopyOut:
        job = jobs.job_state(uow, redaction_job_key(copy.id)) if copy.status == "queued" else None
        return cls(id=copy.id, clip_id=copy.clip_id, status=copy.status, options=copy.options,
                   created_at=copy.created_at,
                   progress_done=job.progress_done if job else None,
                   progress_total=job.progress_total if job else None,
                   parent_sha256=copy.parent_sha256, sha256=copy.sha256,
                   size_bytes=copy.size_bytes, detector=copy.detector,
                   detector_version=copy.detector_version,
                   faces=len(copy.provenance["tracks"]) if copy.provenance else None,
                   low_confidence=copy.low_confidence, failure=copy.failure,
                   approved_at=copy.approved_at)


@router.post("/clips/{clip_id}/redactions", response_model=CopyOut, status_code=202)
def ask_for_copy(clip_id: UUID, body: RedactionIn, uow: UowDep, actor: ActorDep) -> CopyOut:
    """Make a copy of the caller's clip with bystanders' faces covered; a job makes it
    (poll the copy). 409 when three copies of the clip are already being made."""
    copy_id = copies.request_copy(uow, actor, clip_id, body.options())
    return CopyOut.of(copies.get_copy(uow, actor, copy_id)[0], uow)


@router.get("/clips/{clip_id}/redactions", response_model=list[CopyOut])
def list_copies(clip_id: UUID, uow: UowDep, actor: ActorDep) -> list[CopyOut]:
    """Every copy of the caller's clip, newest first."""
    return [CopyOut.of(copy, uow) for copy in copies.copies_of(uow, actor, clip_id)[1]]


@router.get("/redactions/{copy_id}", response_model=CopyOut)
def get_copy(copy_id: UUID, uow: UowDep, actor: ActorDep) -> CopyOut:
    return CopyOut.of(copies.get_copy(uow, actor, copy_id)[0], uow)


@router.get("/redactions/{copy_id}/video", response_class=Response, responses=VIDEO)
async def copy_video(copy_id: UUID, request: Request, container: ContainerDep,
                     actor: ActorDep) -> Response:
    """The finished copy, for its owner to watch before approving it."""
    opened = await run_in_threadpool(copies.open_copy, container.uow(),
                                     container.security.vault, actor, copy_id)
    store = container.footage.store
    return ranged_response(
        request.headers.get("range"), opened.copy.size_bytes, opened.media_type,
        lambda start, end: store.read(opened.copy.object_key, opened.data_key, start, end))


@router.post("/redactions/{copy_id}/approve", response_model=CopyOut)
def approve_copy(copy_id: UUID, uow: UowDep, actor: ActorDep) -> CopyOut:
    """The owner has watched it: it may now be shared. 409 unless it is ready."""
    copies.approve(uow, actor, copy_id)
    return CopyOut.of(copies.get_copy(uow, actor, copy_id)[0], uow)


@router.delete("/redactions/{copy_id}", status_code=204)
def delete_copy(copy_id: UUID, uow: UowDep, actor: ActorDep) -> Response:
    """Delete the copy: its key at once, its bytes by a job. Copies agencies already
    received are theirs and stay."""
    copies.discard(uow, actor, copy_id)
    return Response(status_code=204)
