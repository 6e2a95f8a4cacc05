"""Receiving an upload: stream the body to a private temp file, counting as it goes.

The body is never held in memory. Each wait for the next piece of the body is bounded by
the idle timeout, and the body must keep up a minimum average rate over each window (the
first window starts with the body, so a slow start or a short pause costs nothing on its
own). A body over the size cap, one that stalls or trickles, a client that disconnects
half-way, or any failure of the work done with the file leaves no temp file behind:
``receive`` deletes it when its block ends, however it ends. The temp file is locked
while it exists (``footage.services.temp_uploads``), so the sweeps at start-up and in retention
remove what a crash left at once and never a live upload of another process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
from fastapi import Request

from porchlight.bootstrap import private_dirs
from porchlight.config import StorageSettings
from porchlight.footage.services import temp_uploads
from porchlight.footage.services.commands import ReceivedFile
from porchlight.footage.services.temp_uploads import TempUpload
from porchlight.kernel.domain.errors import TooLarge, UploadStalled

WRITE_BLOCK = 1 << 20


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    idle_timeout: float  # seconds one wait for the next piece of the body may take
    min_rate: float  # bytes a second, averaged over each window; 0: no minimum
    rate_window: float  # seconds

    @classmethod
    def of(cls, storage: StorageSettings, max_bytes: int) -> UploadLimits:
        return cls(max_bytes=max_bytes, idle_timeout=storage.upload_idle_timeout_seconds,
                   min_rate=storage.upload_min_bytes_per_second,
                   rate_window=storage.upload_min_rate_window_seconds)


class Pace:
    """Whether a body keeps up ``min_rate`` bytes a second over each ``window`` seconds."""

    def __init__(self, min_rate: float, window: float, now: float) -> None:
        self.min_rate, self.window = min_rate, window
        self.since, self.size_then = now, 0

    def too_slow(self, size: int, now: float) -> bool:
        elapsed = now - self.since
        if self.min_rate <= 0 or elapsed < self.window:
            return False
        if size - self.size_then < self.min_rate * elapsed:
            return True
        self.since, self.size_then = now, size
        return False


def upload_dir(data_dir: Path) -> Path:
    return private_dirs(data_dir / "tmp" / "uploads")  # each level 0700


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the file is larger than the {limit // (1024 * 1024)} MiB limit")


def check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


@asynccontextmanager
async def receive(request: Request, folder: Path, limits: UploadLimits
                  ) -> AsyncIterator[ReceivedFile]:
    """The request body in a temp file in ``folder``, deleted when the block ends."""
    temp = temp_uploads.create(folder)
    try:
        size = await _copy_body(request, temp, limits)
        yield ReceivedFile(path=temp.path, size=size)
    finally:
        temp.discard()


async def _copy_body(request: Request, temp: TempUpload, limits: UploadLimits) -> int:
    size, pending = 0, bytearray()
    pace = Pace(limits.min_rate, limits.rate_window, anyio.current_time())
    async with aclosing(request.stream()) as body:
        while (chunk := await _next_chunk(body, limits.idle_timeout)) is not None:
            size += len(chunk)
            if size > limits.max_bytes:
                raise _too_large(limits.max_bytes)
            if pace.too_slow(size, anyio.current_time()):
                raise UploadStalled(f"the upload arrived slower than {limits.min_rate:g} "
                                    "bytes a second and was dropped; send it again")
            pending += chunk
            if len(pending) >= WRITE_BLOCK:  # one thread hop per MiB, not per packet
                await anyio.to_thread.run_sync(temp.write, bytes(pending))
                pending.clear()
    await anyio.to_thread.run_sync(_finish, temp, bytes(pending))
    return size


async def _next_chunk(body: AsyncIterator[bytes], idle_timeout: float) -> bytes | None:
    """The next piece of the body, None at its end; raises if none comes in time."""
    with anyio.move_on_after(idle_timeout):
        try:
            return await anext(body)
        except StopAsyncIteration:
            return None
    raise UploadStalled(f"nothing arrived for {idle_timeout:g} seconds and the upload was "
                        "dropped; send it again")


def _finish(temp: TempUpload, rest: bytes) -> None:
    temp.write(rest)
    temp.flush()
