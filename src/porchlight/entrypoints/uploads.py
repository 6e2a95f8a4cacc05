"""Receiving an upload: stream the body to a private temp file, counting as it goes.

The body is never held in memory. A body over the size cap, a client that disconnects
half-way, or any later failure leaves no temp file behind: the caller deletes it in a
``finally``, and the retention sweep removes what a crash left.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import anyio
from fastapi import Request

from porchlight.domain.errors import TooLarge
from porchlight.services.footage import ReceivedFile

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


async def receive(request: Request, folder: Path, limit: int) -> ReceivedFile:
    """Write the request body to ``folder``; the caller must delete ``.path`` when done."""
    path = folder / f"{uuid.uuid4().hex}.part"
    size, pending = 0, bytearray()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                pending += chunk
                if len(pending) >= WRITE_BLOCK:  # one thread hop per MiB, not per packet
                    await anyio.to_thread.run_sync(handle.write, bytes(pending))
                    pending.clear()
            await anyio.to_thread.run_sync(handle.write, bytes(pending))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return ReceivedFile(path=path, size=size)
