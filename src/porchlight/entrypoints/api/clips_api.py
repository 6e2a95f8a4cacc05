"""Clip upload (device tokens only) and the owner's clip list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel

from porchlight.accounts.services import tokens
from porchlight.config import MAX_UPLOAD_CEILING
from porchlight.entrypoints.api.routes import ERROR_RESPONSES
from porchlight.entrypoints.api.schemas import ErrorBody
from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.uploads import (
    UploadLimits,
    check_declared_length,
    receive,
    upload_dir,
)
from porchlight.footage.domain.clips import Clip
from porchlight.footage.services import library
from porchlight.footage.services.commands import UploadClip
from porchlight.kernel.domain.errors import NotAuthenticated

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["clips"])
VIDEO = {"schema": {"type": "string", "format": "binary"}}
VIDEO_BODY = {"video/mp4": VIDEO, "video/webm": VIDEO}


class ClipOut(BaseModel):
    id: UUID
    camera_id: UUID
    recorded_at: datetime
    expires_at: datetime
    duration_seconds: float
    width: int
    height: int
    video_codec: str
    audio_codec: str | None
    sha256: str
    size_bytes: int

    @classmethod
    def of(cls, clip: Clip) -> ClipOut:
        return cls(id=clip.id, camera_id=clip.camera_id, recorded_at=clip.recorded_at,
                   expires_at=clip.expires_at, duration_seconds=clip.duration_seconds,
                   width=clip.width, height=clip.height, video_codec=clip.video_codec,
                   audio_codec=clip.audio_codec, sha256=clip.sha256, size_bytes=clip.size_bytes)


class UploadOut(BaseModel):
    clip_id: UUID
    created: bool


def _device_camera(container, request: Request) -> UUID:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    camera_id = (tokens.authenticate_device(container.uow(), token.strip())
                 if scheme.lower() == "bearer" else None)
    if camera_id is None:
        raise NotAuthenticated("send the camera's device token as 'Authorization: Bearer …'")
    return camera_id


UPLOAD_ERRORS: dict[int | str, dict] = {
    408: {"model": ErrorBody, "description": "`upload_stalled`: the body sent nothing for "
          "the idle timeout, or arrived slower than the minimum rate; nothing was kept"},
    413: {"model": ErrorBody, "description": "`too_large`: over the upload size cap"},
    415: {"model": ErrorBody, "description": "`video_rejected.<reason>`: not footage "
          "Porchlight accepts"},
}


@router.post("/cameras/{camera_id}/clips", response_model=UploadOut, status_code=201,
             responses=UPLOAD_ERRORS, max_body_size=MAX_UPLOAD_CEILING,
             openapi_extra={"requestBody": {"required": True, "content": VIDEO_BODY}})
async def upload_clip(
    camera_id: UUID, request: Request, response: Response, container: ContainerDep,
    recorded_at: Annotated[AwareDatetime, Query(
        description="when the recording started (ISO 8601 with a time zone)")],
    sha256: Annotated[str | None, Query(pattern="^[0-9a-fA-F]{64}$")] = None,
) -> UploadOut:
    """Upload one recording as the raw request body (streamed; never held in memory)."""
    device_camera = await run_in_threadpool(_device_camera, container, request)
    kit, settings = container.footage, container.settings
    check_declared_length(request, kit.max_upload_bytes)
    limits = UploadLimits.of(settings.storage, kit.max_upload_bytes)
    async with receive(request, upload_dir(settings.data_dir), limits) as received:
        result = await run_in_threadpool(
            library.upload_clip, container.uow(), kit, device_camera,
            UploadClip(camera_id, recorded_at, received, sha256))
    if not result.created:
        response.status_code = 200
    return UploadOut(clip_id=result.clip_id, created=result.created)


@router.get("/me/clips", response_model=list[ClipOut])
def my_clips(uow: UowDep, actor: ActorDep) -> list[ClipOut]:
    return [ClipOut.of(clip) for clip in library.my_clips(uow, actor)]
