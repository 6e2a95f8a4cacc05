"""The child process that opens and decodes untrusted video for ``footage.adapters.video.tools``.

Run as ``python -I -m porchlight.footage.adapters.video.worker`` with one end of a Unix socket
pair (SOCK_SEQPACKET) as stdin. It loads its libraries, then waits for exactly one message:
the request as JSON, carrying the open video (and, for a trim, the output) as descriptors.
So a child can be started ahead of time and hold nothing until its file arrives; the
request never appears on a command line. Why it looks like this:

* It is a separate process, so a decoder crash, a runaway allocation or an endless loop
  costs a short-lived child the parent can kill, never the server.
* Limits go on before any untrusted byte is read: address space (memory), no core dumps
  (they would copy footage to disk), no file writes. The one exception is a trim, which
  writes its output to a descriptor the parent opened and passed in (never a path): the
  file-size limit is then the parent's cap on that output instead of zero while the
  muxer writes, and goes back to zero before the output is decoded to probe it.
* The video arrives as an already-open file and reaches FFmpeg as a Python file object with
  a demuxer we chose from a whitelist of two, so no path or URL reaches FFmpeg and no
  playlist or concat list can make it open anything else; nested opens are refused too.
* The answer is one JSON object on the real stdout, which is moved aside first so nothing
  the C libraries print can be mistaken for it.

Request: ``{"op": "probe" | "poster" | "examine" | "trim", "limits": {max_width,
max_height, max_fps, max_duration_seconds}, "memory_limit_bytes": int, "cpu_seconds": int,
"poster_width": int}``; a trim adds ``start_seconds``, ``end_seconds`` and
``output_limit_bytes``, and sends the output descriptor second. ``memory_limit_bytes`` is
the address space decoding may add to what Python and the FFmpeg libraries have mapped
once loaded (about 120 MiB), so the limit means the same on every machine;
``cpu_seconds`` is a backstop should the parent die before it can kill us.
Answer: ``{"ok": true, "info": {...VideoInfo fields}}``, ``{"ok": true, "jpeg": base64}``,
both for "examine" (the poster only once the probe passed),
``{"ok": true, "trim": {start_seconds, end_seconds}, "info": {...of the output}}`` or
``{"ok": false, "reason": code, "message": text, "detail": text}``.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import socket
import sys
from pathlib import Path
from typing import Any, BinaryIO

# Run as the child: lower our CPU priority before loading anything, so neither a spare
# loading FFmpeg nor a long decode slows the server that started us (the upload it is
# storing, the pages it is serving); the decoder gets whatever CPU they leave.
NICENESS = 10
if __name__ == "__main__":
    os.nice(NICENESS)

import av  # noqa: E402
from av.container import InputContainer  # noqa: E402
from PIL import JpegImagePlugin  # noqa: E402, F401  (loaded before the limits apply)

from porchlight.footage.adapters.video.decode import (  # noqa: E402
    DECODER_THREADS,
    Limits,
    check_size,
    inspect,
    poster,
    probe,
)
from porchlight.footage.adapters.video.headers import (  # noqa: E402
    ACCEPTED,
    MP4,
    SNIFF_BYTES,
    declared_sizes,
    sniff,
)
from porchlight.footage.adapters.video.trim import OutputFile, Window, trim  # noqa: E402
from porchlight.kernel.domain.errors import VideoRejected  # noqa: E402

DEMUXERS = {MP4: "mov,mp4,m4a,3gp,3g2,mj2", "matroska": "matroska,webm"}
DEMUXER_OPTIONS = {
    MP4: {"protocol_whitelist": "file", "enable_drefs": "0", "use_absolute_path": "0"},
    "matroska": {"protocol_whitelist": "file"},
}
OUT_OF_MEMORY = ("The video needs more memory to decode than Porchlight allows for one clip; "
                 "a camera's own recordings fit well within it.")
DAMAGED = "The video file is damaged or incomplete and cannot be played."
NEAR_LIMIT_BYTES = 64 << 20
MAX_REQUEST_BYTES = 1 << 16


def main() -> int:
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    request = _receive_request()
    if request is None:
        return 0
    reserve = bytearray(1 << 20)  # given back on MemoryError so the answer can be written
    limit = (_address_space() or 0) + int(request["memory_limit_bytes"])
    _limit_resources(limit, int(request["cpu_seconds"]), int(request.get("output_limit_bytes", 0)))
    try:
        answer = _answer(request, limit)
    except MemoryError:
        del reserve
        answer = _refusal("out_of_memory", OUT_OF_MEMORY, "MemoryError")
    with os.fdopen(answer_fd, "w", encoding="utf-8") as out:
        json.dump(answer, out)
    return 0


def _receive_request() -> dict[str, Any] | None:
    """Wait on the socket that is our stdin for the one request and its descriptors.

    The video becomes stdin (descriptor 0) and a trim's output descriptor replaces the
    request's ``output_fd``. None when the parent closed the socket without sending
    anything (it shut down while we were the spare).
    """
    channel = socket.socket(fileno=0)
    try:
        message, fds, _, _ = socket.recv_fds(channel, MAX_REQUEST_BYTES, 2)
    finally:
        channel.close()
    if not message or not fds:
        for fd in fds:
            os.close(fd)
        return None
    os.dup2(fds[0], 0)
    os.close(fds[0])
    request = json.loads(message)
    if len(fds) > 1:
        request["output_fd"] = fds[1]
    return request


def _limit_resources(address_space_bytes: int, cpu_seconds: int, file_bytes: int) -> None:
    """No core dumps, no file writes beyond ``file_bytes`` (0 unless trimming), a cap on
    address space (memory) and on CPU time.

    The file-size limit is per process, not per file: while it is above zero this process
    could write that much to any file it could open, which is why only a trim raises it,
    why the parent sizes it to the output, and why ``_trim`` drops it once the output is
    written. Python ignores SIGXFSZ, so a write past the limit fails (EFBIG) instead of
    killing us, and the trim is refused with a reason.
    """
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_AS, (address_space_bytes, address_space_bytes))


def _refusal(reason: str, message: str, detail: str = "") -> dict[str, Any]:
    return {"ok": False, "reason": reason, "message": message, "detail": detail}


def _answer(request: dict[str, Any], limit: int) -> dict[str, Any]:
    """Run the request; every failure becomes a refusal, since a refusal is always safe."""
    limits = Limits(**request["limits"])
    try:
        with os.fdopen(0, "rb", closefd=False) as video:
            return _run(request, video, limits)
    except VideoRejected as exc:
        return _refusal(exc.reason, exc.message)
    except MemoryError:
        raise
    except Exception as exc:  # FFmpeg and PyAV raise many types on hostile input
        detail = f"{type(exc).__name__}: {exc}"
        if _near_memory_limit(limit):
            return _refusal("out_of_memory", OUT_OF_MEMORY, detail)
        return _refusal("corrupt", DAMAGED, detail)


def _near_memory_limit(limit: int) -> bool:
    """Whether the process came close enough to its limit that memory is the likely cause.

    FFmpeg seldom says ENOMEM when the limit bites: a thread that cannot get its stack
    shows as EAGAIN, a buffer that cannot grow as "invalid data". So when decoding fails
    within 64 MiB of the address-space limit, we call it memory, not a damaged file.
    """
    peak = _address_space("VmPeak")
    return peak is not None and peak + NEAR_LIMIT_BYTES >= limit


def _address_space(field: str = "VmSize") -> int | None:
    """This process's mapped address space in bytes (Linux), or None where unknown."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return None


def _run(request: dict[str, Any], video: BinaryIO, limits: Limits) -> dict[str, Any]:
    if request["op"] == "trim":
        return _trim(request, video, limits)
    kind = _check_container_header(video, limits)
    answer: dict[str, Any] = {"ok": True}
    if request["op"] in ("probe", "examine"):
        with _open(video, kind) as container:
            answer["info"] = probe(container, inspect(container, kind, limits), limits)
        if request["op"] == "probe":
            return answer
        video.seek(0)  # the poster reads from a fresh demuxer: probing moved this one
    with _open(video, kind) as container:
        jpeg = poster(container, inspect(container, kind, limits), limits,
                      int(request["poster_width"]))
    answer["jpeg"] = base64.b64encode(jpeg).decode("ascii")
    return answer


def _trim(request: dict[str, Any], video: BinaryIO, limits: Limits) -> dict[str, Any]:
    """Copy the window to the parent's descriptor, then probe what was written, as the
    parent would probe an upload: a trim that does not probe is no trim."""
    output = OutputFile(int(request["output_fd"]))
    window = Window(float(request["start_seconds"]), float(request["end_seconds"]))
    try:
        kind = _check_container_header(video, limits)
        with _open(video, kind) as container:
            covered = trim(container, inspect(container, kind, limits), output, window)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # written or failed: no more writes
    with output.reader() as written:
        written_kind = _check_container_header(written, limits)
        with _open(written, written_kind) as container:
            info = probe(container, inspect(container, written_kind, limits), limits)
    return {"ok": True, "trim": covered, "info": info}


def _check_container_header(video: BinaryIO, limits: Limits) -> str:
    """Pick the demuxer from the first bytes and hold the header's declared sizes to limits."""
    kind = sniff(video.read(SNIFF_BYTES))
    for width, height in declared_sizes(video, kind, os.fstat(video.fileno()).st_size):
        check_size(width, height, limits, declared=True)
    video.seek(0)
    return kind


def _refuse_nested_open(url: str, flags: int, options: dict[str, str]) -> BinaryIO:
    raise PermissionError(f"this file tried to make the demuxer open {url!r}")


def _open(video: BinaryIO, kind: str) -> InputContainer:
    """The container through the whitelisted demuxer for ``kind``, forced, never probed."""
    container = av.open(video, format=DEMUXERS[kind], container_options=DEMUXER_OPTIONS[kind],
                        options={"threads": str(DECODER_THREADS)}, io_open=_refuse_nested_open)
    if container.format.name != DEMUXERS[kind]:
        container.close()
        raise VideoRejected("container_not_allowed", f"This container is not allowed. {ACCEPTED}")
    return container


if __name__ == "__main__":
    sys.exit(main())
