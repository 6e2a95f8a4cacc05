"""The VideoTools port on PyAV, with every decode done in a short-lived child process.

Why a child: FFmpeg parses attacker-supplied bytes in C. A crash, a runaway allocation or
an endless loop there must cost a child we can kill, not the web server or the job worker.
The child (``porchlight.footage.adapters.video.worker``) receives the request and the already-open
file over a Unix socket (the descriptor itself, SCM_RIGHTS), sets its own memory limit and
answers in JSON. This side only starts it, enforces the wall-clock timeout and turns the
answer into a ``VideoInfo``, poster bytes, a ``Trim`` or a ``VideoRejected``; it never
imports av or reads the video itself.

Each child serves exactly one request, so no file ever meets a decoder another file has
touched. Starting one costs about 0.13 s of CPU (the interpreter and the FFmpeg
libraries), so with ``zygote`` (what the server and the job worker use) one long-lived
process started the same way loads them once and forks a child per request instead;
the child sets the same limits after the fork, and this side gets its process id (and
group) to kill it at the timeout. A request costs about a sixth of the CPU that way
(``bench/RESULTS.md``). The zygote never reads a video and keeps no request's
descriptor; if it has died it is replaced on the next call, which is retried once and
otherwise served by a started child. Without it, ``keep_spare`` starts the next call's
child shortly after a call ends, to wait with its libraries loaded and holding no file.

A trim's output leaves the child through a file this side creates (a hidden temporary
beside the target, renamed over it only once the child has answered) and passes in as an
open descriptor, so the child still never receives a path. Why a descriptor and not a
pipe: an MP4 that plays while it loads needs its index in front, which the muxer can only
write by seeking back, and Matroska's duration and cue index are written the same way;
a pipe cannot seek. The cost is that the child's file-size limit, zero for probe and
poster, is raised to ``_output_limit`` while it writes (see ``video_worker``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import math
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from porchlight.kernel.domain.errors import VideoRejected
from porchlight.kernel.services.ports import Examined, Trim, VideoInfo

WORKER_MODULE = "porchlight.footage.adapters.video.worker"
REASONS = frozenset({
    "not_a_video", "container_not_allowed", "codec_not_allowed", "no_video_stream",
    "too_many_pixels", "frame_rate_too_high", "too_long", "corrupt", "timeout", "out_of_memory",
    "outside_clip",
})
PACKAGE_ROOT = Path(__file__).resolve().parents[4]  # the folder holding porchlight/
WORKER_BOOT = (
    "import runpy, sys\n"
    "root = sys.argv.pop(1)\n"
    "if root not in sys.path:\n"
    "    sys.path.insert(0, root)\n"
    f"runpy.run_module({WORKER_MODULE!r}, run_name='__main__', alter_sys=True)\n"
)
MAX_REPLY_BYTES = 4096
ZYGOTE_REPLY_SECONDS = 30.0
CRASHED = ("The video decoder stopped on this file, so Porchlight cannot use it. It may be "
           "damaged.")

log = logging.getLogger(__name__)


class PyAvVideoTools:
    """Probe and poster-frame extraction under a timeout and a memory limit per call.

    ``memory_limit_bytes`` caps the address space (RLIMIT_AS) the child may add for
    decoding on top of what Python and the FFmpeg libraries map once loaded (about
    120 MiB), so the number means the same whatever the libraries' size.
    """

    def __init__(
        self,
        *,
        timeout_seconds: float = 20.0,
        memory_limit_bytes: int = 1 << 30,
        max_width: int = 4096,
        max_height: int = 4096,
        max_fps: float = 120.0,
        max_duration_seconds: float = 3600.0,
        keep_spare: bool = False,
        refill_delay_seconds: float = 0.25,
        zygote: bool = False,
    ) -> None:
        numbers = (timeout_seconds, memory_limit_bytes, max_width, max_height, max_fps,
                   max_duration_seconds)
        if min(numbers) <= 0:
            raise ValueError("every video limit must be positive")
        self.timeout_seconds = timeout_seconds
        self.memory_limit_bytes = memory_limit_bytes
        self.keep_spare = keep_spare
        self.refill_delay_seconds = refill_delay_seconds
        self.zygote = zygote
        self._closed = False
        self._lock = threading.Lock()
        self._spare: tuple[subprocess.Popen[bytes], socket.socket] | None = None
        self._zygote_lock = threading.Lock()
        self._zygote: tuple[subprocess.Popen[bytes], socket.socket] | None = None
        self.limits = {"max_width": max_width, "max_height": max_height, "max_fps": max_fps,
                       "max_duration_seconds": max_duration_seconds}

    def probe(self, path: Path) -> VideoInfo:
        """Open, check and decode the start and end of the file; refuse with VideoRejected."""
        return _video_info(self._run(path, {"op": "probe"})["info"])

    def poster(self, path: Path, *, max_width: int = 480) -> bytes:
        """A JPEG of a frame about a second in (the first frame for shorter clips), upright."""
        if max_width <= 0:
            raise ValueError("max_width must be positive")
        answer = self._run(path, {"op": "poster", "poster_width": max_width})
        return base64.b64decode(answer["jpeg"], validate=True)

    def examine(self, path: Path, *, poster_width: int = 480) -> Examined:
        """``probe`` then ``poster`` in one child, which costs one interpreter start, not two;
        the poster is only decoded once the probe has passed."""
        if poster_width <= 0:
            raise ValueError("poster_width must be positive")
        answer = self._run(path, {"op": "examine", "poster_width": poster_width})
        return Examined(info=_video_info(answer["info"]),
                        poster=base64.b64decode(answer["jpeg"], validate=True))

    def trim(self, source: Path, target: Path, start_seconds: float, end_seconds: float) -> Trim:
        """Copy the window of ``source`` (offsets in seconds after its video starts) to
        ``target``, in the same container family, by stream copy; never re-encoded.

        The copy starts at the last keyframe at or before ``start_seconds``, however far
        back that is (a camera that writes one keyframe per clip gives a copy from the
        clip's start), and ends with the frame showing at ``end_seconds`` or the clip's
        end. The result reports those true offsets, never the requested ones, with a
        probe of the copy. ``target`` appears only when the copy is complete and probes
        OK; a refusal (``VideoRejected``, "outside_clip" for a window that misses the
        clip) leaves no file behind.
        """
        _check_window(start_seconds, end_seconds)
        source, target = Path(source), Path(target)
        request = {"op": "trim", "start_seconds": float(start_seconds),
                   "end_seconds": float(end_seconds),
                   "output_limit_bytes": _output_limit(source.stat().st_size)}
        with _replacing(target) as descriptor:
            answer = self._run(source, request, pass_fds=(descriptor,))
            covered = answer["trim"]
            return Trim(start_seconds=float(covered["start_seconds"]),
                        end_seconds=float(covered["end_seconds"]), stream_copy=True,
                        info=_video_info(answer["info"]))

    def close(self) -> None:
        """End the waiting spare child and the zygote, if any (they would also end when
        this process does); later calls still work, each with a child of its own started
        for it, and no spare or zygote after it."""
        with self._lock:
            self._closed = True
            spare, self._spare = self._spare, None
        if spare is not None:
            _discard(spare)
        with self._zygote_lock:
            zygote, self._zygote = self._zygote, None
        if zygote is not None:
            _end_zygote(zygote)

    def _command(self) -> list[str]:
        """``-I``: the child ignores PYTHON* variables and never imports from the cwd. It
        runs the worker module from the same copy of Porchlight as this process: that
        copy's folder goes first on its path unless already on it (as it is when
        installed; a checkout run with PYTHONPATH, which ``-I`` ignores, needs it)."""
        return [sys.executable, "-I", "-c", WORKER_BOOT, str(PACKAGE_ROOT)]

    def _zygote_command(self) -> list[str]:
        return [*self._command(), "--zygote"]

    def _cpu_seconds(self) -> int:
        """A CPU-time backstop in the child, for when this process dies and cannot kill it:
        generous enough (three busy threads for the whole timeout) never to fire first."""
        return math.ceil(self.timeout_seconds * 3) + 1

    def _run(self, path: Path, request: dict[str, Any],
             pass_fds: tuple[int, ...] = ()) -> dict[str, Any]:
        """Run one request in a child that has never seen another file: the request and the
        open video (plus ``pass_fds``, a trim's output) go to it over its socket."""
        request = {**request, "limits": self.limits, "memory_limit_bytes": self.memory_limit_bytes,
                   "cpu_seconds": self._cpu_seconds()}
        message = json.dumps(request).encode()
        with Path(path).open("rb") as video:
            fds = (video.fileno(), *pass_fds)
            if self.zygote and not self._closed:
                for _ in range(2):
                    answer = self._run_forked(message, fds)
                    if answer is not None:
                        return answer
                log.warning("the video zygote failed twice; starting a worker for this call")
            return self._run_started(message, fds)

    def _run_started(self, message: bytes, fds: tuple[int, ...]) -> dict[str, Any]:
        """The request in a worker process started for it (or the spare started for it)."""
        process = self._hand_over(message, fds)
        try:
            out, _ = process.communicate(timeout=self.timeout_seconds)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise VideoRejected(
                "timeout",
                f"The video took longer than {self.timeout_seconds:g} seconds to check, so "
                "Porchlight gave up on it.",
            ) from None
        except BaseException:
            _kill(process)
            raise
        finally:
            if self.keep_spare:
                self._refill_soon()
        return _read_answer(process.returncode, out)

    def _run_forked(self, message: bytes, fds: tuple[int, ...]) -> dict[str, Any] | None:
        """The request in a worker forked for it by the zygote; None when the zygote forked
        nothing (it had died, say), so the call can be tried again."""
        read_end, write_end = os.pipe()
        try:
            try:
                pid = self._fork(message, (write_end, *fds))
            finally:
                os.close(write_end)
            out = self._read_forked(read_end, pid)
        except _NotForked:
            return None
        finally:
            os.close(read_end)
        if pid is None and not out:
            return None  # the zygote ended without forking: no child holds the pipe
        answer, newline, status = out.rpartition(b"\n")
        if not newline:  # the monitor never wrote the worker's status: it was killed
            return _read_answer(None, out)
        try:
            returncode: int | None = int(status)
        except ValueError:
            returncode = None
        return _read_answer(returncode, answer)

    def _fork(self, message: bytes, fds: tuple[int, ...]) -> int | None:
        """Have the zygote fork a child for the request: its process id (and group), or
        None if the zygote took the request but ended without saying (it may have forked).
        Starts a zygote if there is none or it has ended; ``_NotForked`` if the request
        could not be sent, and so nothing was forked."""
        with self._zygote_lock:
            if self._zygote is None or self._zygote[0].poll() is not None:
                dead, self._zygote = self._zygote, self._start_zygote()
                if dead is not None:
                    log.warning("the video zygote had ended; starting another")
                    _end_zygote(dead)
            process, channel = self._zygote
            try:
                socket.send_fds(channel, [message], list(fds))
            except OSError:  # the zygote has ended or is ending, and has not got it
                reply, sent = b"", False
            else:
                sent = True
                try:
                    reply = channel.recv(MAX_REPLY_BYTES)
                except OSError:  # including no reply in time
                    reply = b""
            try:
                pid = int(json.loads(reply)["pid"]) if reply else None
            except (ValueError, KeyError, TypeError):
                pid = None
            if pid is None:
                self._zygote = None
                _end_zygote((process, channel))
        if not sent:
            raise _NotForked
        return pid

    def _start_zygote(self) -> tuple[subprocess.Popen[bytes], socket.socket]:
        """The zygote, loading its libraries while the first request waits on its socket;
        a reply not back within ``ZYGOTE_REPLY_SECONDS`` counts as none."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            process = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
                self._zygote_command(), stdin=theirs, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True,
                env=child_environment(os.environ),
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.settimeout(max(ZYGOTE_REPLY_SECONDS, self.timeout_seconds))
        return process, ours

    def _read_forked(self, read_end: int, pid: int | None) -> bytes:
        """Everything the forked child writes to the answer pipe until it ends (the pipe
        closes); at the wall-clock timeout, its process group is killed instead."""
        deadline = time.monotonic() + self.timeout_seconds
        chunks: list[bytes] = []
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not _readable(read_end, remaining):
                    raise VideoRejected(
                        "timeout",
                        f"The video took longer than {self.timeout_seconds:g} seconds to "
                        "check, so Porchlight gave up on it.",
                    )
                chunk = os.read(read_end, 1 << 16)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        except BaseException:
            if pid is not None:
                _kill_group(pid, read_end)
            raise

    def _hand_over(self, message: bytes, fds: tuple[int, ...]) -> subprocess.Popen[bytes]:
        """Send the request to the spare child, or to a new one if there is none or the
        spare has died meanwhile (killed by an operator, say); the child owns it now."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            try:
                return _send(spare, message, fds)
            except OSError:
                log.warning("the spare video worker had ended; starting another")
        return _send(self._start(), message, fds)

    def _start(self) -> tuple[subprocess.Popen[bytes], socket.socket]:
        """A new child, loading its libraries while it waits for a request on its socket."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            process = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
                self._command(), stdin=theirs, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True,
                env=child_environment(os.environ),
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return process, ours

    def _refill_soon(self) -> None:
        """Start the next call's child ``refill_delay_seconds`` from now: by then the upload
        that made this call has usually finished storing, so the new child's loading
        (about 0.15 s of CPU) happens between uploads instead of slowing one down."""
        if self.refill_delay_seconds <= 0:
            self._refill()
            return
        timer = threading.Timer(self.refill_delay_seconds, self._refill)
        timer.daemon = True
        timer.start()

    def _refill(self) -> None:
        """Start the next call's child now, unless one is already waiting."""
        with self._lock:
            if self._closed:
                return
            if self._spare is None or self._spare[0].poll() is not None:
                dead, self._spare = self._spare, self._start()
            else:
                dead = None
        if dead is not None:
            _discard(dead)


# What the decoder child inherits from this process's environment: enough to find its
# libraries and format text, and nothing else. The server's environment holds its
# secrets (PORCHLIGHT_* settings, the database URL, the audit key, cloud credentials);
# a child whose only job is parsing hostile bytes in C must have none of them to leak.
CHILD_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "LD_LIBRARY_PATH")


def child_environment(parent: Mapping[str, str]) -> dict[str, str]:
    """The decoder child's whole environment: the allowed names present in ``parent``,
    and glibc told to keep two malloc arenas (FFmpeg's threads otherwise reserve one
    each, which counts against the child's address-space limit)."""
    kept = {name: parent[name] for name in CHILD_ENVIRONMENT if name in parent}
    return {**kept, "MALLOC_ARENA_MAX": "2"}


def _send(child: tuple[subprocess.Popen[bytes], socket.socket], message: bytes,
          fds: tuple[int, ...]) -> subprocess.Popen[bytes]:
    """The request and the descriptors in one message (SCM_RIGHTS); then the socket closes."""
    process, channel = child
    try:
        socket.send_fds(channel, [message], list(fds))
    except BaseException:
        _discard(child)
        raise
    channel.close()
    return process


def _kill_group(pid: int, read_end: int) -> None:
    """Kill the forked child's process group (the monitor and its worker) and wait, a
    second at most, for the answer pipe to close: then no decoder outlives the call."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 1
    while (remaining := deadline - time.monotonic()) > 0:
        if _readable(read_end, remaining) and not os.read(read_end, 1 << 16):
            return


def _readable(fd: int, seconds: float) -> bool:
    """Whether ``fd`` has data or has closed within ``seconds`` (poll, not select, which
    fails on descriptors above 1023, as a busy server has)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(max(0, math.ceil(seconds * 1000))))


def _end_zygote(zygote: tuple[subprocess.Popen[bytes], socket.socket]) -> None:
    """Close the zygote's socket, which ends it, and make sure: its children, each in a
    process group of its own, carry on and end with their requests."""
    process, channel = zygote
    channel.close()
    try:
        process.wait(timeout=1)
    except subprocess.TimeoutExpired:
        _kill(process)


class _NotForked(Exception):
    """The zygote never received the request, so forked nothing for it."""


def _discard(child: tuple[subprocess.Popen[bytes], socket.socket]) -> None:
    process, channel = child
    channel.close()
    _kill(process)


def _check_window(start_seconds: float, end_seconds: float) -> None:
    """A window that cannot mean anything is the caller's bug, not the file's: ValueError."""
    if not (math.isfinite(start_seconds) and math.isfinite(end_seconds)):
        raise ValueError("the trim window must be finite")
    if start_seconds >= end_seconds:
        raise ValueError("the trim window must start before it ends")


@contextmanager
def _replacing(target: Path) -> Iterator[int]:
    """A read-write descriptor of a new hidden file beside ``target``, renamed over it when
    the block succeeds and removed when it fails, so ``target`` is never half written."""
    descriptor, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                           suffix=".partial")
    try:
        yield descriptor
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    finally:
        os.close(descriptor)


def _output_limit(source_bytes: int) -> int:
    """The most a trim may write: twice the source plus 16 MiB.

    A stream copy writes a subset of the source's packets, so it only outgrows the source
    where its container framing costs more per packet than the source's did (unlaced
    audio, a fragmented MP4 re-indexed); doubling covers that with room to spare, while
    still bounding what the child can write anywhere while the limit is raised.
    """
    return 2 * source_bytes + (16 << 20)


def _video_info(info: dict[str, Any]) -> VideoInfo:
    return VideoInfo(
        container=str(info["container"]),
        video_codec=str(info["video_codec"]),
        audio_codec=None if info["audio_codec"] is None else str(info["audio_codec"]),
        width=int(info["width"]),
        height=int(info["height"]),
        frame_rate=float(info["frame_rate"]),
        duration_seconds=float(info["duration_seconds"]),
        rotation=int(info["rotation"]),
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the child and reap it, so no decoder outlives the call."""
    process.kill()
    process.communicate()


def _read_answer(returncode: int | None, out: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(out)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise _died(returncode)
    if answer.get("ok") is True:
        return answer
    reason = answer.get("reason")
    message = answer.get("message")
    if reason not in REASONS or not isinstance(message, str):
        raise _died(returncode)
    if answer.get("detail"):
        log.info("video refused: %s (%s)", reason, answer["detail"])
    raise VideoRejected(reason, message)


def _died(returncode: int | None) -> VideoRejected:
    """The child ended without an answer: out of CPU time, killed by the kernel, or crashed."""
    log.warning("video worker ended without an answer (exit status %s)", returncode)
    if returncode == -signal.SIGXCPU:
        return VideoRejected("timeout", "The video took too long to check, so Porchlight gave "
                             "up on it.")
    if returncode == -signal.SIGKILL:
        return VideoRejected("out_of_memory", "The video needs more memory to decode than "
                             "Porchlight allows for one clip.")
    return VideoRejected("corrupt", CRASHED)
