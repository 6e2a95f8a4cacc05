"""Receiving an upload: stream the body to a private temp file, counting as it goes.

The body is never held in memory. A body over the size cap, a client that disconnects
half-way, or any failure of the work done with the file leaves no temp file behind:
``receive`` deletes it when its block ends, however it ends. The temp file is locked
while it exists (``services.temp_uploads``), so the sweeps at start-up and in retention
remove what a crash left at once and never a live upload of another process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import Request

from porchlight.domain.errors import TooLarge
from porchlight.services import temp_uploads
from porchlight.services.footage import ReceivedFile
from porchlight.services.temp_uploads import TempUpload

WRITE_BLOCK = 1 << 20


def upload_dir(data_dir: Path) -> Path:
    folder = data_dir / "tmp" / "uploads"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the file is larger than the {limit // (1024 * 1024)} MiB limit")


def check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


@asynccontextmanager
async def receive(request: Request, folder: Path, limit: int) -> AsyncIterator[ReceivedFile]:
    """The request body in a temp file in ``folder``, deleted when the block ends."""
    temp = temp_uploads.create(folder)
    try:
        size = await _copy_body(request, temp, limit)
        yield ReceivedFile(path=temp.path, size=size)
    finally:
        temp.discard()


async def _copy_body(request: Request, temp: TempUpload, limit: int) -> int:
    size, pending = 0, bytearray()
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        pending += chunk
        if len(pending) >= WRITE_BLOCK:  # one thread hop per MiB, not per packet
            await anyio.to_thread.run_sync(temp.write, bytes(pending))
            pending.clear()
    await anyio.to_thread.run_sync(_finish, temp, bytes(pending))
    return size


def _finish(temp: TempUpload, rest: bytes) -> None:
    temp.write(rest)
    temp.flush()
