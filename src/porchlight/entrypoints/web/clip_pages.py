"""The owner's clip library and playback: decrypted on the fly, HTTP Range honoured."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.methods import head_only
from porchlight.entrypoints.web.render import render, see_other
from porchlight.entrypoints.web.when import local, viewer_zone
from porchlight.footage.domain.clips import Clip
from porchlight.footage.services import cameras, library
from porchlight.footage.services.commands import SetCameraRetention

router = APIRouter(include_in_schema=False)
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
PRIVATE = {"cache-control": "private, no-store", "x-content-type-options": "nosniff"}


class RangeNotSatisfiable(Exception):
    """The Range header asks for bytes the object does not have (answered with 416)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One byte range as [start, end) — or None for the whole file."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or (match[1] == "" and match[2] == ""):
        raise RangeNotSatisfiable
    if match[1] == "":  # the last N bytes
        length = int(match[2])
        if length == 0:
            raise RangeNotSatisfiable
        return max(0, size - length), size
    start = int(match[1])
    end = min(int(match[2]) + 1, size) if match[2] else size
    if start >= size or end <= start:
        raise RangeNotSatisfiable
    return start, end


def ranged_response(
    header: str | None, size: int, media_type: str, read: Callable[[int, int], Iterator[bytes]]
) -> Response:
    """Serve [start, end) of a decrypted object: 206 for a Range, 416 when unsatisfiable."""
    try:
        wanted = parse_range(header, size)
    except RangeNotSatisfiable:
        return Response(status_code=416, headers={"content-range": f"bytes */{size}", **PRIVATE})
    start, end = wanted or (0, size)
    headers = {"accept-ranges": "bytes", "content-length": str(end - start), **PRIVATE}
    if wanted:
        headers["content-range"] = f"bytes {start}-{end - 1}/{size}"
    return StreamingResponse(read(start, end), status_code=206 if wanted else 200,
                             media_type=media_type, headers=headers)


def starts_playback(header: str | None) -> bool:
    """A request from the first byte opens a viewing; later ranges of it are not new views."""
    return header is None or header.strip().startswith("bytes=0-")


@router.get("/clips", response_class=HTMLResponse)
def clip_library(request: Request, uow: UowDep, me: ActorDep) -> HTMLResponse:
    mine = cameras.list_my_cameras(uow, me)
    grouped: dict[UUID, dict[date, list[Clip]]] = defaultdict(lambda: defaultdict(list))
    zone = viewer_zone(request)  # a day is the viewer's day, not UTC's
    for clip in library.my_clips(uow, me):
        grouped[clip.camera_id][local(clip.recorded_at, zone).date()].append(clip)
    return render(request, "clips.html", cameras=mine, grouped=grouped)


@router.get("/clips/{clip_id}", response_class=HTMLResponse)
def clip_page(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep,
              clip_id: UUID) -> HTMLResponse:
    opened = library.open_for_owner(uow, container.footage, me, clip_id, record_view=False)
    return render(request, "clip.html", clip=opened.clip)


@router.get("/clips/{clip_id}/video")
async def play(request: Request, container: ContainerDep, me: ActorDep,
               clip_id: UUID) -> Response:
    kit = container.footage
    header = request.headers.get("range")
    opened = await run_in_threadpool(library.open_for_owner, container.uow(), kit, me, clip_id,
                                     record_view=starts_playback(header)
                                     and not head_only(request.scope))
    return ranged_response(
        header, opened.clip.size_bytes, opened.media_type,
        lambda start, end: kit.store.read(opened.clip.object_key, opened.data_key, start, end))


@router.get("/clips/{clip_id}/poster.jpg")
def poster(uow: UowDep, container: ContainerDep, me: ActorDep, clip_id: UUID) -> Response:
    kit = container.footage
    opened = library.open_for_owner(uow, kit, me, clip_id, record_view=False)
    key = opened.clip.poster_key
    size = kit.store.plaintext_size(key)
    data = b"".join(kit.store.read(key, opened.data_key, 0, size))
    return Response(data, media_type="image/jpeg", headers=PRIVATE)


@router.post("/clips/{clip_id}/delete", response_class=HTMLResponse)
def delete(request: Request, uow: UowDep, container: ContainerDep, me: ActorDep, clip_id: UUID,
           confirm: Annotated[str, Form()] = "") -> Response:
    """Deleting cannot be undone: the first post asks, the confirmed one deletes."""
    if confirm != "yes":
        opened = library.open_for_owner(uow, container.footage, me, clip_id, record_view=False)
        return render(request, "confirm.html", title="Delete this clip for good?",
                      message="Its key is destroyed at once and the footage cannot be "
                              "recovered by anyone, you included. Copies you already shared "
                              "with an agency are not affected.",
                      action=f"/clips/{clip_id}/delete", confirm_label="Yes, delete it",
                      back=f"/clips/{opened.clip.id}")
    library.delete_my_clip(uow, container.footage, me, clip_id)
    return see_other("/clips")


@router.post("/cameras/{camera_id}/retention")
def set_retention(uow: UowDep, me: ActorDep, camera_id: UUID,
                  retention_days: Annotated[int, Form()]) -> Response:
    cameras.set_camera_retention(
        uow, me, SetCameraRetention(camera_id, retention_days))
    return see_other("/cameras")
