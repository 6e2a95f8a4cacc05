"""The video zygote: each file still gets a process of its own, forked from a warm parent
that has loaded PyAV and FFmpeg once, and the sandbox limits hold in that forked child
(memory, file size, no new descriptors so no network, CPU and wall-clock time, a minimal
environment); the zygote keeps no request's descriptors and is replaced when it dies.

The hostile children here run the real zygote with the worker's ``_run`` (what happens
after the limits are on and the video is descriptor 0) replaced by code that tries what a
decoder taken over by a hostile file would try, and reports what it could do.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from porchlight.footage.adapters.video import tools as video_adapter
from porchlight.footage.adapters.video.tools import CHILD_ENVIRONMENT, PyAvVideoTools
from porchlight.kernel.domain.errors import VideoRejected
from tests.integration.test_video_corpus import corpus  # noqa: F401  (the session's corpus)
from tests.integration.video_corpus import HOSTILE, Corpus

CLIP = "h264_aac.mov"  # 640x360, cheap to probe

# Runs in the forked worker, limits on: what can it reach? The findings come back as the
# message of a refusal, the one thing the parent passes through as it is.
SANDBOX_PROBE = '''
def hostile(request, video, limits):
    import errno, resource
    found = {"pid": os.getpid(), "pgid": os.getpgid(0), "ppid": os.getppid()}
    def attempt(name, action):
        try:
            action()
            found[name] = "allowed"
        except OSError as exc:
            found[name] = errno.errorcode.get(exc.errno, str(exc.errno))
        except MemoryError:
            found[name] = "MemoryError"
    attempt("connect", lambda: socket.create_connection(("127.0.0.1", PORT), timeout=2))
    attempt("socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    attempt("open", lambda: open("/etc/hostname", "rb"))
    attempt("pipe", os.pipe)
    attempt("allocate", lambda: bytearray(3 << 30))
    found["limits"] = {name: resource.getrlimit(getattr(resource, name)) for name in
                       ("RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_CPU", "RLIMIT_CORE",
                        "RLIMIT_NOFILE")}
    found["fds"] = {fd: os.readlink(f"/proc/self/fd/{fd}") for fd in range(64)
                    if _is_open(fd)}
    for fd, target in found["fds"].items():
        if target.endswith("/status"):
            status = os.pread(fd, 1 << 16, 0).decode()
            found["no_new_privs"] = [line.split()[1] for line in status.splitlines()
                                     if line.startswith("NoNewPrivs:")]
    found["environ"] = dict(os.environ)
    found["signals"] = {name: str(signal.getsignal(getattr(signal, name)))
                        for name in ("SIGCHLD", "SIGTERM", "SIGXFSZ")}
    raise VideoRejected("corrupt", json.dumps(found))
'''

# Hangs on a poster, serves a probe as usual: the zygote must outlive the one it forked.
HANG_ON_POSTER = '''
real_run = worker._run
def hostile(request, video, limits):
    if request["op"] == "poster":
        time.sleep(3600)
    return real_run(request, video, limits)
'''


def zygote_running(code: str, **values: object) -> list[str]:
    """The zygote's command with the worker's ``_run`` replaced by ``hostile`` from ``code``."""
    for name, value in values.items():
        code = code.replace(name, repr(value))
    script = "\n".join([
        "import json, os, signal, socket, sys, time",
        f"sys.path.insert(0, {str(video_adapter.PACKAGE_ROOT)!r})",
        "sys.argv = ['worker', '--zygote']",
        "from porchlight.footage.adapters.video import worker",
        "from porchlight.footage.adapters.video.worker import _is_open",
        "from porchlight.kernel.domain.errors import VideoRejected",
        code,
        "worker._run = hostile",
        "sys.exit(worker.main())",
    ])
    return [sys.executable, "-I", "-c", script]


@pytest.fixture
def zygote() -> Iterator[PyAvVideoTools]:
    adapter = PyAvVideoTools(zygote=True)
    yield adapter
    adapter.close()


def zygote_pid(adapter: PyAvVideoTools) -> int:
    assert adapter._zygote is not None
    return adapter._zygote[0].pid


def children_of(pid: int) -> list[int]:
    return [int(child) for child in
            Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def hanging_worker(zygote: int) -> tuple[int, int]:
    """The monitor the zygote forked and its worker, once the worker holds the video (the
    probe before may still be ending: its monitor is not the one we want)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for monitor in children_of(zygote):
            with contextlib.suppress(FileNotFoundError):
                for worker in children_of(monitor):
                    if any(target.endswith(CLIP) for target in descriptors(worker).values()):
                        return monitor, worker
        time.sleep(0.02)
    raise AssertionError("no forked worker holds the video")


def ends_soon(*pids: int) -> bool:
    """Whether the processes are gone within a second: a killed process closes its
    descriptors (which ends the call) a moment before it is reaped."""
    deadline = time.monotonic() + 1
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.01)
    return not any(Path(f"/proc/{pid}").exists() for pid in pids)


def descriptors(pid: int) -> dict[int, str]:
    folder = Path(f"/proc/{pid}/fd")
    found = {}
    for entry in folder.iterdir():
        with contextlib.suppress(FileNotFoundError):  # closed as we looked
            found[int(entry.name)] = os.readlink(entry)
    return found


def sandbox_findings(corpus: Corpus, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                     port: int, **options: object) -> dict:
    monkeypatch.setattr(PyAvVideoTools, "_zygote_command",
                        lambda self: zygote_running(SANDBOX_PROBE, PORT=port))
    adapter = PyAvVideoTools(zygote=True, **options)  # type: ignore[arg-type]
    try:
        with pytest.raises(VideoRejected) as caught:
            adapter.probe(corpus.path(CLIP))
        pid = zygote_pid(adapter)
    finally:
        adapter.close()
    findings = json.loads(caught.value.message)
    findings["zygote"] = pid
    return findings


def test_the_forked_child_is_contained(corpus: Corpus,  # noqa: F811
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Limits on, the child can open nothing (no file, socket or pipe, so no network),
    cannot allocate past its memory limit, write no file, dump no core; it holds only
    the video, the answer pipe and what it opened before the limits."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        found = sandbox_findings(corpus, monkeypatch, listener.getsockname()[1],
                                 memory_limit_bytes=256 << 20, timeout_seconds=7)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert found["connect"] == found["socket"] == found["open"] == found["pipe"] == "EMFILE"
    assert found["allocate"] == "MemoryError"
    limits = found["limits"]
    assert limits["RLIMIT_FSIZE"] == [0, 0] and limits["RLIMIT_CORE"] == [0, 0]
    assert limits["RLIMIT_CPU"] == [22, 23]  # three times the timeout, and a second
    assert 0 < limits["RLIMIT_AS"][0] < (256 << 20) + (1 << 30)
    assert limits["RLIMIT_NOFILE"][0] == len(found["fds"]) <= 8
    assert found["no_new_privs"] == ["1"]
    # the video as descriptor 0; no socket of the zygote's, nothing but /dev/null besides
    assert found["fds"]["0"].endswith(CLIP)
    assert not any(target.startswith("socket:") for target in found["fds"].values())
    # forked by the zygote's child, which leads the process group the parent kills
    assert found["pgid"] == found["ppid"] != found["zygote"]
    assert found["signals"]["SIGCHLD"] == str(signal.SIG_DFL)
    assert found["signals"]["SIGXFSZ"] == str(signal.SIG_IGN)  # a write past the limit fails


def test_the_forked_child_gets_none_of_the_servers_secrets(
        corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("PORCHLIGHT_SECRET_KEY", "server-only-secret")
    monkeypatch.setenv("PORCHLIGHT_DATABASE__URL", "postgresql://user:password@db/prod")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "cloud-secret")
    monkeypatch.setenv("LANG", "C.UTF-8")
    environment = sandbox_findings(corpus, monkeypatch, 9)["environ"]
    assert set(environment) <= {*CHILD_ENVIRONMENT, "MALLOC_ARENA_MAX"}
    assert environment["LANG"] == "C.UTF-8" and environment["MALLOC_ARENA_MAX"] == "2"


def test_the_memory_limit_stops_a_decompression_bomb(corpus: Corpus) -> None:  # noqa: F811
    tight = PyAvVideoTools(memory_limit_bytes=64 << 20, zygote=True)
    try:
        assert tight.probe(corpus.path("h264_1080p_aac.mp4")).width == 1920
        with pytest.raises(VideoRejected) as caught:
            tight.probe(corpus.path("bomb_4096.mp4"))
        assert caught.value.reason == "out_of_memory"
    finally:
        tight.close()


def test_a_hanging_child_is_killed_and_the_zygote_holds_no_file(
        corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """While the child decodes, the zygote holds only its socket and /dev/null; at the
    timeout the child's process group is killed, and the same zygote serves the next."""
    monkeypatch.setattr(PyAvVideoTools, "_zygote_command",
                        lambda self: zygote_running(HANG_ON_POSTER))
    adapter = PyAvVideoTools(zygote=True, timeout_seconds=3)
    try:
        assert adapter.probe(corpus.path(CLIP)).width == 640
        pid = zygote_pid(adapter)
        errors: list[VideoRejected] = []

        def poster() -> None:
            try:
                adapter.poster(corpus.path(CLIP))
            except VideoRejected as exc:
                errors.append(exc)

        caller = threading.Thread(target=poster)
        caller.start()
        monitor, worker = hanging_worker(pid)
        held = descriptors(pid)
        assert set(held) == {0, 1, 2}
        assert held[0].startswith("socket:") and held[1] == held[2] == "/dev/null"
        caller.join(10)
        assert [error.reason for error in errors] == ["timeout"]
        assert ends_soon(monitor, worker)
        assert adapter.probe(corpus.path(CLIP)).width == 640
        assert zygote_pid(adapter) == pid
    finally:
        adapter.close()
    assert not Path(f"/proc/{pid}").exists()


def test_a_tiny_timeout_kills_the_real_forked_worker(corpus: Corpus) -> None:  # noqa: F811
    adapter = PyAvVideoTools(zygote=True, timeout_seconds=0.001)
    try:
        with pytest.raises(VideoRejected) as caught:
            adapter.probe(corpus.path("h264_1080p_aac.mp4"))
        assert caught.value.reason == "timeout"
        assert ends_soon(*children_of(zygote_pid(adapter)))
    finally:
        adapter.close()


def test_a_killed_zygote_is_replaced_on_the_next_call(corpus: Corpus,  # noqa: F811
                                                      zygote: PyAvVideoTools) -> None:
    first = zygote.probe(corpus.path(CLIP))
    old = zygote_pid(zygote)
    os.kill(old, signal.SIGKILL)
    assert zygote.probe(corpus.path(CLIP)) == first
    assert zygote_pid(zygote) != old


def test_a_zygote_that_dies_unnoticed_is_replaced_and_the_call_retried(
        corpus: Corpus, zygote: PyAvVideoTools) -> None:  # noqa: F811
    """Killed between our check that it lives and the request: the send fails, and the
    call goes to a fresh zygote."""
    first = zygote.probe(corpus.path(CLIP))
    process, _ = zygote._zygote  # type: ignore[misc]
    os.kill(process.pid, signal.SIGKILL)
    while Path(f"/proc/{process.pid}/stat").read_text().split()[2] != "Z":
        time.sleep(0.01)
    process.poll = lambda: None  # type: ignore[method-assign]
    assert zygote.probe(corpus.path(CLIP)) == first
    assert zygote_pid(zygote) != process.pid


def test_a_zygote_that_fails_twice_leaves_the_call_to_a_started_worker(
        corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(PyAvVideoTools, "_zygote_command",
                        lambda self: [sys.executable, "-I", "-c", "pass"])
    adapter = PyAvVideoTools(zygote=True)
    try:
        assert adapter.probe(corpus.path(CLIP)).width == 640
    finally:
        adapter.close()


def test_calls_at_once_each_get_a_child(corpus: Corpus,  # noqa: F811
                                        zygote: PyAvVideoTools) -> None:
    names = [CLIP, "h264_720p.mp4", CLIP, "h264_720p.mp4"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        widths = list(pool.map(lambda name: zygote.probe(corpus.path(name)).width, names))
    assert widths == [640, 1280, 640, 1280]


@pytest.mark.parametrize(("name", "reason"), sorted(HOSTILE.items())[:6])
def test_a_forked_child_refuses_as_a_started_one(corpus: Corpus,  # noqa: F811
                                                 zygote: PyAvVideoTools,
                                                 name: str, reason: str) -> None:
    with pytest.raises(VideoRejected) as caught:
        zygote.examine(corpus.path(name))
    assert caught.value.reason == reason


def test_the_file_size_limit_stops_a_trim_that_grows(corpus: Corpus,  # noqa: F811
                                                     zygote: PyAvVideoTools, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert zygote.trim(corpus.path(CLIP), tmp_path / "whole.mov", 0.0, 1.0).stream_copy
    monkeypatch.setattr(video_adapter, "_output_limit", lambda source_bytes: 4096)
    with pytest.raises(VideoRejected) as caught:
        zygote.trim(corpus.path(CLIP), tmp_path / "trimmed.mov", 0.0, 5.0)
    assert caught.value.reason == "corrupt"
    assert "larger than the whole clip" in caught.value.message
    assert sorted(path.name for path in tmp_path.iterdir()) == ["whole.mov"]
