"""The child process that opens and decodes untrusted video for ``footage.adapters.video.tools``.

Run as this module under ``python -I`` with one end of a Unix socket pair (SOCK_SEQPACKET)
as stdin. It loads its libraries, then waits for exactly one message: the request as
JSON, carrying the open video (and, for a trim, the output) as descriptors. So a child
can be started ahead of time and hold nothing until its file arrives; the request never
appears on a command line. With ``--zygote`` it serves requests one after another
instead, each in a child it forks for it (see ``zygote``): the same code and limits,
without an interpreter start per file. Why it looks like this:

* It is a separate process, so a decoder crash, a runaway allocation or an endless loop
  costs a short-lived child the parent can kill, never the server.
* Limits go on before any untrusted byte is read: address space (memory), CPU time, no
  core dumps (they would copy footage to disk), no file writes, no new descriptors (so no
  file opened, no socket, no network), no new privileges. The one exception is a trim, which
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
import contextlib
import ctypes
import json
import os
import resource
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

# Run as the child: lower our CPU priority before loading anything, so neither a spare
# loading FFmpeg nor a long decode slows the server that started us (the upload it is
# storing, the pages it is serving); the decoder gets whatever CPU they leave.
NICENESS = 10
if __name__ == "__main__":
    os.nice(NICENESS)

# Everything decoding imports is imported now: once the limits apply, this process can
# open no file (see ``_no_new_descriptors``), so a module PyAV or Pillow would import
# lazily mid-decode could not be read and the file would be refused.
import av  # noqa: E402
import av.subtitles.stream  # noqa: E402
from av.container import InputContainer  # noqa: E402
from PIL import (  # noqa: E402, F401
    Image,
    ImageChops,
    ImagePalette,
    ImageSequence,
    JpegImagePlugin,
)

Image.preinit()  # the plugins Image.save looks through

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
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    if sys.argv[1:] == ["--zygote"]:
        return zygote()
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    request = _receive_request()
    if request is None:
        return 0
    return serve(request, answer_fd)


def serve(request: dict[str, Any], answer_fd: int) -> int:
    """Limit this process, run the one request (the video is descriptor 0) and write the
    answer to ``answer_fd``; the same in a started child and in a zygote's forked one."""
    reserve = bytearray(1 << 20)  # given back on MemoryError so the answer can be written
    status = os.open("/proc/self/status", os.O_RDONLY) if Path("/proc/self").exists() else None
    limit = (_address_space(status=status) or 0) + int(request["memory_limit_bytes"])
    _limit_resources(limit, int(request["cpu_seconds"]), int(request.get("output_limit_bytes", 0)))
    try:
        answer = _answer(request, limit, status)
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
    _no_new_privileges()
    _no_new_descriptors()


def _no_new_descriptors() -> None:
    """Make every descriptor this process will ever need the last it can have.

    The open descriptors are made contiguous from 0 (any gap filled with a copy of stderr,
    /dev/null) and RLIMIT_NOFILE set just above the highest, so ``open``, ``socket`` and
    ``pipe`` all fail with EMFILE from here on: a decoder taken over by a hostile file
    can neither open another file nor reach the network, whatever FFmpeg allows.
    """
    open_fds = sorted(fd for fd in map(int, os.listdir("/proc/self/fd")) if _is_open(fd))
    highest = open_fds[-1]
    while (spare := os.dup(2)) < highest:
        pass
    os.close(spare)
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 1, highest + 1))


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _no_new_privileges() -> None:
    """prctl(PR_SET_NO_NEW_PRIVS): nothing this process executes can gain privileges
    (set-user-ID programs); best effort, as not every libc exposes prctl."""
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _refusal(reason: str, message: str, detail: str = "") -> dict[str, Any]:
    return {"ok": False, "reason": reason, "message": message, "detail": detail}


def _answer(request: dict[str, Any], limit: int, status: int | None = None) -> dict[str, Any]:
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
        if _near_memory_limit(limit, status):
            return _refusal("out_of_memory", OUT_OF_MEMORY, detail)
        return _refusal("corrupt", DAMAGED, detail)


def _near_memory_limit(limit: int, status: int | None = None) -> bool:
    """Whether the process came close enough to its limit that memory is the likely cause.

    FFmpeg seldom says ENOMEM when the limit bites: a thread that cannot get its stack
    shows as EAGAIN, a buffer that cannot grow as "invalid data". So when decoding fails
    within 64 MiB of the address-space limit, we call it memory, not a damaged file.
    ``status`` is /proc/self/status opened before the limits (none can be opened after).
    """
    peak = _address_space("VmPeak", status)
    return peak is not None and peak + NEAR_LIMIT_BYTES >= limit


def _address_space(field: str = "VmSize", status: int | None = None) -> int | None:
    """This process's mapped address space in bytes (Linux), or None where unknown; read
    through ``status``, an open /proc/self/status, when given."""
    try:
        if status is None:
            text = Path("/proc/self/status").read_text()
        else:
            text = os.pread(status, 1 << 16, 0).decode()
    except OSError:
        return None
    for line in text.splitlines():
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


# --- the zygote ------------------------------------------------------------------------------


def zygote() -> int:
    """Serve requests from the socket on stdin, each in a child forked for it.

    Started like a worker but with ``--zygote``, this process has paid for Python, PyAV and
    FFmpeg once. A request is the usual JSON with, as descriptors, the write end of the
    pipe the answer goes to, the video and a trim's output. The reply, on the same socket,
    is ``{"pid": n}``: the child's process id, which is also its process group, so the
    parent can kill it at the wall-clock timeout; or ``{"error": text}`` when no child
    could be forked. Requests are forked one after another; the children run at once.

    The zygote never reads a video or decodes anything, so it has no thread that a fork
    would lose (checked before every fork), and it closes the request's descriptors as
    soon as it has forked: no file it has handed on stays within its reach.
    """
    signal.signal(signal.SIGCHLD, _reap)  # reaped by waiting, so their CPU time is ours
    # ...and their children's: a worker whose monitor was killed first is adopted by us
    # (and so reaped at once), not left to whatever init the machine has
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    channel = socket.socket(fileno=0)
    while True:
        message, fds, _, _ = socket.recv_fds(channel, MAX_REQUEST_BYTES, 3)
        if not message:  # the parent closed the socket: it is done with us
            _close(fds)
            return 0
        try:
            reply = _fork(channel, message, fds)
        finally:
            _close(fds)
        channel.send(json.dumps(reply).encode())
        if "error" in reply:
            return 1  # whatever went wrong, a fresh zygote is the parent's best chance


def _reap(signum: int, frame: object) -> None:
    """Wait for every child that has ended. Waiting, not ignoring SIGCHLD, adds their CPU
    time to ours (cutime and cstime in /proc/<zygote>/stat), so it can be measured."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _fork(channel: socket.socket, message: bytes, fds: list[int]) -> dict[str, Any]:
    if len(fds) < 2:
        return {"error": "a request needs the answer pipe and the video"}
    threads = len(os.listdir("/proc/self/task"))
    if threading.active_count() != 1 or threads != 1:
        return {"error": f"the zygote has {threads} threads; it must have one to fork"}
    try:
        pid = os.fork()
    except OSError as exc:
        return {"error": f"fork: {exc}"}
    if pid == 0:
        _monitor(channel, message, fds)
    with contextlib.suppress(OSError):  # an error: it has already ended
        os.setpgid(pid, pid)  # the child does the same: whichever runs first, no race
    return {"pid": pid}


def _monitor(channel: socket.socket, message: bytes, fds: list[int]) -> NoReturn:
    """The forked child: in a process group of its own, with the signal dispositions of a
    new interpreter and no descriptor but the request's, it forks the worker that serves
    the request and, once the worker has ended, writes its exit status after the answer
    (``\\n`` and the status as ``Popen.returncode`` gives it), which the parent needs to
    tell a crash from the kernel's OOM kill or the CPU-time limit."""
    code = 70
    try:
        channel.close()  # descriptor 0, the zygote's socket
        os.setpgid(0, 0)
        for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        answer_fd, video_fd, *output = fds
        _close_all_but({1, 2, *fds})
        worker = os.fork()
        if worker == 0:
            _work(message, answer_fd, video_fd, output)
        _close([video_fd, *output])
        _, status = os.waitpid(worker, 0)
        os.write(answer_fd, b"\n%d" % os.waitstatus_to_exitcode(status))
        code = 0
    finally:
        os._exit(code)


def _work(message: bytes, answer_fd: int, video_fd: int, output: list[int]) -> NoReturn:
    """The worker a request gets from the zygote: the video as descriptor 0, then the same
    limits and the same code as a worker started for the request."""
    code = 70
    try:
        request = json.loads(message)
        os.dup2(video_fd, 0)
        os.close(video_fd)
        if output:
            request["output_fd"] = output[0]
        code = serve(request, answer_fd)
    finally:
        os._exit(code)


def _close_all_but(keep: set[int]) -> None:
    for fd in [int(name) for name in os.listdir("/proc/self/fd")]:
        if fd not in keep:
            with contextlib.suppress(OSError):  # the listing's own, already closed
                os.close(fd)


def _close(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
