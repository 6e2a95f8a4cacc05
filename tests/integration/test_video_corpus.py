"""The video adapter against a corpus encoded with PyAV: what doorbells record is accepted
and described correctly; hostile files are refused with the right reason, and the decoder
is contained (timeout, memory limit, no file or URL followed).
"""

from __future__ import annotations

import io
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from porchlight.footage.adapters.video import tools as video_adapter
from porchlight.footage.adapters.video import worker as video_worker
from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.footage.adapters.video.headers import MP4
from porchlight.footage.adapters.video.tools import CHILD_ENVIRONMENT, PyAvVideoTools
from porchlight.kernel.domain.errors import VideoRejected
from tests.conftest import skip_or_fail
from tests.integration import video_corpus, video_encode
from tests.integration.video_corpus import HOSTILE, LEGIT, Corpus, Legit


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    missing = video_corpus.missing_encoders()
    if missing:
        skip_or_fail(f"this PyAV's FFmpeg lacks encoders the corpus needs: {missing}")
    return video_corpus.build(tmp_path_factory.mktemp("video_corpus"))


@pytest.fixture(scope="session", params=["started", "zygote"])
def tools(request: pytest.FixtureRequest) -> Iterator[PyAvVideoTools]:
    """Each call in a worker started for it, and in one forked for it by the zygote."""
    adapter = PyAvVideoTools(zygote=request.param == "zygote")
    yield adapter
    adapter.close()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A local TCP port that records whether anything tried to connect to it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        yield server


def connected(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


def rejected(tools: PyAvVideoTools, path: Path) -> VideoRejected:
    with pytest.raises(VideoRejected) as caught:
        tools.probe(path)
    return caught.value


# --- accepted footage ------------------------------------------------------------------------


@pytest.mark.parametrize("clip", LEGIT, ids=lambda clip: clip.name)
def test_doorbell_footage_is_accepted_and_described(corpus: Corpus, tools: PyAvVideoTools,
                                                    clip: Legit) -> None:
    path = corpus.path(clip.name)
    info = tools.probe(path)
    assert (info.container, info.video_codec, info.audio_codec) == (
        clip.container, clip.video_codec, clip.audio_codec)
    assert (info.width, info.height) == (clip.width, clip.height)
    assert info.frame_rate == pytest.approx(15.0, rel=0.02)  # fragments give an average
    assert info.duration_seconds == pytest.approx(clip.seconds, abs=0.15)
    assert info.rotation == clip.rotation
    if clip.container == "mp4":
        assert video_corpus.tkhd_rotation(path.read_bytes()) == clip.rotation


@pytest.mark.parametrize("clip", LEGIT, ids=lambda clip: clip.name)
def test_poster_is_the_upright_keyframe_picture(corpus: Corpus, tools: PyAvVideoTools,
                                                clip: Legit) -> None:
    """The picture that was encoded at the keyframe at or before one second in (the first
    frame of a shorter clip), turned as the track header says, at the clip's aspect."""
    path = corpus.path(clip.name)
    with Image.open(io.BytesIO(tools.poster(path))) as poster:
        assert poster.format == "JPEG"
        shown = poster.convert("RGB")
    at = 1.0 if clip.seconds >= 2 else 0.0
    index = video_corpus.keyframe_at_or_before(path, at)
    reference = video_encode.picture((clip.width, clip.height), index)
    reference = reference.rotate(-clip.rotation, expand=True)  # rotate() turns anticlockwise
    assert shown.width == min(480, reference.width)
    assert shown.height == pytest.approx(reference.height * shown.width / reference.width,
                                         abs=1)
    scaled = reference.resize(shown.size)
    assert difference(shown, scaled) < 12
    assert difference(shown, scaled.transpose(Image.Transpose.ROTATE_180)) > 40


def test_the_poster_is_the_keyframe_at_or_before_one_second(tools: PyAvVideoTools,
                                                             tmp_path: Path) -> None:
    """Keyframes every 0.8 s: the poster is the picture at 0.8 s, not the first frame nor
    the frame at exactly one second."""
    clip = video_encode.encode(video_encode.Clip(
        tmp_path / "gop12.mp4", (640, 360), 3.0, gop=12,
        options={"keyint_min": "12", "sc_threshold": "0"}))
    assert video_corpus.keyframe_at_or_before(clip, 0.79) == 0
    assert video_corpus.keyframe_at_or_before(clip, 1.0) == 12
    with Image.open(io.BytesIO(tools.poster(clip))) as poster:
        shown = poster.convert("RGB")

    def frame_at(seconds: float) -> Image.Image:
        return video_encode.picture((640, 360), round(seconds * 15)).resize(shown.size)

    assert difference(shown, frame_at(0.8)) < 6
    assert difference(shown, frame_at(0.0)) > 2 * difference(shown, frame_at(0.8))
    assert difference(shown, frame_at(1.0)) > 2 * difference(shown, frame_at(0.8))


def difference(one: Image.Image, other: Image.Image) -> float:
    """Mean absolute difference per channel, 0 to 255."""
    return sum(ImageStat.Stat(ImageChops.difference(one, other)).mean) / 3


def test_poster_keeps_aspect_when_narrower_than_asked(corpus: Corpus,
                                                      tools: PyAvVideoTools) -> None:
    jpeg = tools.poster(corpus.path("h264_1080p_aac.mp4"), max_width=160)
    with Image.open(io.BytesIO(jpeg)) as poster:
        assert poster.size == (160, 90)


@pytest.mark.parametrize("name", ["h264_1080p_aac.mp4", "h264_720p_rotated90.mp4"])
def test_examine_gives_the_probe_and_the_poster_of_one_pass(corpus: Corpus,
                                                           tools: PyAvVideoTools,
                                                           name: str) -> None:
    examined = tools.examine(corpus.path(name), poster_width=200)
    assert examined.info == tools.probe(corpus.path(name))
    assert examined.poster == tools.poster(corpus.path(name), max_width=200)


# --- refused files ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "reason"), sorted(HOSTILE.items()))
def test_hostile_file_is_refused_with_its_reason(corpus: Corpus, tools: PyAvVideoTools,
                                                 name: str, reason: str) -> None:
    error = rejected(tools, corpus.path(name))
    assert error.reason == reason
    assert error.code == f"video_rejected.{reason}"
    assert error.message.endswith(".") and len(error.message) > 20


@pytest.mark.parametrize("name", ["truncated_60_faststart.mp4", "absurd_dimensions.mp4",
                                  "png_named.mp4", "audio_only.m4a"])
def test_poster_refuses_what_probe_refuses(corpus: Corpus, tools: PyAvVideoTools,
                                           name: str) -> None:
    with pytest.raises(VideoRejected) as caught:
        tools.poster(corpus.path(name))
    assert caught.value.reason == HOSTILE[name]


@pytest.mark.parametrize(("name", "reason"), sorted(HOSTILE.items()))
def test_examine_refuses_what_probe_refuses(corpus: Corpus, tools: PyAvVideoTools,
                                            name: str, reason: str) -> None:
    with pytest.raises(VideoRejected) as caught:
        tools.examine(corpus.path(name))
    assert caught.value.reason == reason


# --- the spare child -------------------------------------------------------------------------


def test_a_spare_child_waits_for_the_next_call_and_serves_only_it(
        corpus: Corpus, children: list[subprocess.Popen[bytes]]) -> None:
    """The first call starts its child and then the spare; the second call is served by
    that spare (started before the call) and leaves a new spare: one child per file."""
    warm = PyAvVideoTools(keep_spare=True, refill_delay_seconds=0)
    try:
        first = warm.probe(corpus.path("h264_1080p_aac.mp4"))
        assert len(children) == 2
        spare = children[1]
        assert spare.poll() is None  # waiting, libraries loaded, holding no file
        assert warm.probe(corpus.path("h264_1080p_aac.mp4")) == first
        assert spare.returncode == 0  # it answered the second call and ended
        assert len(children) == 3 and children[2].poll() is None
    finally:
        warm.close()
    assert children[2].returncode is not None
    assert not Path(f"/proc/{children[2].pid}").exists()


def test_the_spare_starts_after_a_delay_and_never_after_close(
        corpus: Corpus, children: list[subprocess.Popen[bytes]]) -> None:
    """The next child starts once the call's caller has had time to finish its own work,
    and a tool closed meanwhile starts none."""
    warm = PyAvVideoTools(keep_spare=True, refill_delay_seconds=0.3)
    warm.probe(corpus.path("h264_1080p_aac.mp4"))
    assert len(children) == 1
    deadline = time.monotonic() + 10
    while len(children) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(children) == 2 and children[1].poll() is None
    warm.probe(corpus.path("h264_1080p_aac.mp4"))
    warm.close()
    time.sleep(0.6)
    assert len(children) == 2  # the second call's refill found the tool closed
    assert children[1].returncode == 0


def test_a_spare_that_died_while_waiting_is_replaced(
        corpus: Corpus, children: list[subprocess.Popen[bytes]]) -> None:
    warm = PyAvVideoTools(keep_spare=True, refill_delay_seconds=0)
    try:
        warm.probe(corpus.path("h264_1080p_aac.mp4"))
        children[1].kill()
        children[1].wait()
        assert warm.probe(corpus.path("h264_1080p_aac.mp4")).width == 1920
        assert children[2].returncode == 0  # a fresh child served the call
    finally:
        warm.close()


def test_the_decoder_child_gets_none_of_the_servers_secrets(
        corpus: Corpus, children: list[subprocess.Popen[bytes]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The waiting spare's real environment (read from /proc) holds the allowed names
    only: not the settings, database URL or keys the server was started with."""
    monkeypatch.setenv("PORCHLIGHT_SECRET_KEY", "server-only-secret")
    monkeypatch.setenv("PORCHLIGHT_DATABASE__URL", "postgresql://user:password@db/prod")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "cloud-secret")
    monkeypatch.setenv("LANG", "C.UTF-8")
    warm = PyAvVideoTools(keep_spare=True, refill_delay_seconds=0)
    try:
        assert warm.probe(corpus.path("h264_1080p_aac.mp4")).width == 1920
        # this adapter's own spare: a spare refill left running by an earlier test could
        # also start a child meanwhile, with that test's environment
        deadline = time.monotonic() + 10
        while warm._spare is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert warm._spare is not None and warm._spare[0] in children
        raw = environ_after_exec(warm._spare[0].pid)
    finally:
        warm.close()
    environment = dict(item.split(b"=", 1) for item in raw.split(b"\0") if item)
    assert b"server-only-secret" not in raw and b"password" not in raw
    assert b"cloud-secret" not in raw
    assert set(environment) <= {name.encode() for name in CHILD_ENVIRONMENT} | {
        b"MALLOC_ARENA_MAX"}
    assert environment[b"LANG"] == b"C.UTF-8" and environment[b"MALLOC_ARENA_MAX"] == b"2"


def environ_after_exec(pid: int) -> bytes:
    """``/proc/<pid>/environ`` once the child's exec is complete. Popen returns when the
    kernel wakes the vfork parent, which is before exec sets up the new command line and
    environment: read then, both are empty (about one start in fifteen here)."""
    deadline = time.monotonic() + 5
    while not Path(f"/proc/{pid}/cmdline").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    return Path(f"/proc/{pid}/environ").read_bytes()


def test_a_refusal_in_a_spare_child_is_the_same_refusal(corpus: Corpus) -> None:
    warm = PyAvVideoTools(keep_spare=True, refill_delay_seconds=0)
    try:
        warm.probe(corpus.path("h264_1080p_aac.mp4"))
        for name, reason in sorted(HOSTILE.items()):
            assert rejected(warm, corpus.path(name)).reason == reason
    finally:
        warm.close()


def test_messages_say_what_is_wrong(corpus: Corpus, tools: PyAvVideoTools) -> None:
    assert "60000 by 60000" in rejected(tools, corpus.path("absurd_dimensions.mp4")).message
    assert "240 frames a second" in rejected(tools, corpus.path("fps_240.mp4")).message
    assert "mpeg4" in rejected(tools, corpus.path("mpeg4_part2.mp4")).message
    assert "sound but no picture" in rejected(tools, corpus.path("audio_only.m4a")).message
    assert "still picture" in rejected(tools, corpus.path("jpeg_named.mp4")).message
    assert "cut short" in rejected(tools, corpus.path("truncated_60_faststart.mp4")).message
    assert "cut short" in rejected(tools, corpus.path("truncated_mdat_resized.mp4")).message
    understated = rejected(tools, corpus.path("understated_dimensions.mp4")).message
    assert understated.startswith("The picture is 4112 by 64")  # the bitstream, not the header


def test_a_clip_longer_than_the_limit_is_refused(corpus: Corpus) -> None:
    short_limit = PyAvVideoTools(max_duration_seconds=2)
    error = rejected(short_limit, corpus.path("h264_1536_square.mp4"))
    assert error.reason == "too_long"
    assert "0:00:03" in error.message and "0:00:02" in error.message


def test_smaller_size_limits_apply_to_the_decoded_picture(corpus: Corpus) -> None:
    narrow = PyAvVideoTools(max_width=1280, max_height=720)
    assert rejected(narrow, corpus.path("h264_1080p_aac.mp4")).reason == "too_many_pixels"


# --- containment -----------------------------------------------------------------------------


def playlists(tmp_path: Path, accepted: Path, port: int) -> list[Path]:
    """An HLS playlist and an ffconcat list named .mp4, naming a good clip and our port."""
    url = f"http://127.0.0.1:{port}/x"
    hls = tmp_path / "playlist.mp4"
    hls.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{accepted}\n"
                   f"#EXTINF:1.0,\n{url}.ts\n#EXT-X-ENDLIST\n")
    concat = tmp_path / "concat.mp4"
    concat.write_text(f"ffconcat version 1.0\nfile /etc/passwd\nfile {accepted}\nfile {url}.mp4\n")
    disguised = tmp_path / "ftyp_then_playlist.mp4"
    disguised.write_bytes(b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom" + hls.read_bytes())
    return [hls, concat, disguised]


def test_playlists_are_refused_and_never_followed(corpus: Corpus, tools: PyAvVideoTools,
                                                  listener: socket.socket,
                                                  tmp_path: Path) -> None:
    accepted = corpus.path("h264_1080p_aac.mp4")
    assert tools.probe(accepted).width == 1920  # the referenced clip would pass on its own
    hls, concat, disguised = playlists(tmp_path, accepted, listener.getsockname()[1])
    assert rejected(tools, hls).reason == "container_not_allowed"
    assert rejected(tools, concat).reason == "container_not_allowed"
    assert rejected(tools, disguised).reason == "corrupt"  # parsed as MP4, never as HLS
    assert not connected(listener)


def test_the_forced_demuxer_opens_nothing_else(corpus: Corpus, listener: socket.socket,
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the sniffing: the worker's own open never asks for a nested file or URL."""
    asked: list[str] = []

    def record(url: str, flags: int, options: dict[str, str]) -> None:
        asked.append(url)
        raise PermissionError(url)

    monkeypatch.setattr(video_worker, "_refuse_nested_open", record)
    for playlist in playlists(tmp_path, corpus.path("h264_1080p_aac.mp4"),
                              listener.getsockname()[1]):
        with playlist.open("rb") as video, pytest.raises(av.error.FFmpegError):
            video_worker._open(video, MP4)
    assert asked == []
    assert not connected(listener)


def test_the_listener_would_see_a_demuxer_that_follows_urls(listener: socket.socket,
                                                           tmp_path: Path) -> None:
    """Control: FFmpeg's HLS demuxer, allowed http, does connect, so silence above means it."""
    playlist = tmp_path / "control.m3u8"
    port = listener.getsockname()[1]
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n"
                        f"http://127.0.0.1:{port}/x.ts\n#EXT-X-ENDLIST\n")
    options = {"protocol_whitelist": "file,http,tcp", "rw_timeout": "200000"}
    with pytest.raises(av.error.FFmpegError):
        av.open(str(playlist), options=options, timeout=0.2)
    assert connected(listener)


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[bytes]]:
    """Every child process the adapter starts during the test."""
    started: list[subprocess.Popen[bytes]] = []

    class RecordingPopen(subprocess.Popen[bytes]):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(subprocess, "Popen", RecordingPopen)
    return started


def assert_killed_and_reaped(started: list[subprocess.Popen[bytes]]) -> None:
    assert len(started) == 1
    child = started[0]
    assert child.returncode == -signal.SIGKILL
    assert not Path(f"/proc/{child.pid}").exists()


def test_a_hanging_decoder_is_killed(corpus: Corpus, children: list[subprocess.Popen[bytes]],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    hanging = [sys.executable, "-c", "import signal; signal.pause()"]
    monkeypatch.setattr(PyAvVideoTools, "_command", lambda self: hanging)
    error = rejected(PyAvVideoTools(timeout_seconds=1), corpus.path("h264_1080p_aac.mp4"))
    assert error.reason == "timeout"
    assert_killed_and_reaped(children)


def test_a_tiny_timeout_kills_the_real_worker(corpus: Corpus,
                                              children: list[subprocess.Popen[bytes]]) -> None:
    error = rejected(PyAvVideoTools(timeout_seconds=0.001), corpus.path("h264_1080p_aac.mp4"))
    assert error.reason == "timeout"
    assert "0.001 seconds" in error.message
    assert_killed_and_reaped(children)


def test_the_memory_limit_stops_a_decompression_bomb(corpus: Corpus,
                                                     tools: PyAvVideoTools) -> None:
    """A 4096x4096 clip of a few kilobytes is within the size limits but needs far more
    memory to decode than a 1080p clip; a 64 MiB limit admits the one, not the other."""
    bomb = corpus.path("bomb_4096.mp4")
    assert bomb.stat().st_size < 100_000
    assert tools.probe(bomb).width == 4096
    tight = PyAvVideoTools(memory_limit_bytes=64 << 20)
    assert tight.probe(corpus.path("h264_1080p_aac.mp4")).width == 1920
    assert rejected(tight, bomb).reason == "out_of_memory"
    with pytest.raises(VideoRejected) as caught:
        tight.poster(bomb)
    assert caught.value.reason == "out_of_memory"


def test_a_limit_below_what_decoding_needs_refuses_and_the_server_carries_on(
        corpus: Corpus, tools: PyAvVideoTools) -> None:
    tiny = PyAvVideoTools(memory_limit_bytes=4 << 20)
    assert rejected(tiny, corpus.path("h264_1080p_aac.mp4")).reason == "out_of_memory"
    assert tools.probe(corpus.path("h264_1080p_aac.mp4")).height == 1080


@pytest.mark.parametrize(("returncode", "out", "reason"), [
    (0, b"", "corrupt"),  # no answer at all
    (0, b'{"ok": false, "reason": "made_up", "message": "x"}', "corrupt"),  # not a known reason
    (-signal.SIGSEGV, b"", "corrupt"),  # the decoder crashed
    (-signal.SIGKILL, b"", "out_of_memory"),  # the kernel's OOM killer
    (-signal.SIGXCPU, b"", "timeout"),  # the CPU-time backstop
    (0, b'{"ok": false, "reason": "too_long", "message": "Too long."}', "too_long"),
])
def test_how_a_child_ended_becomes_a_reason(returncode: int, out: bytes, reason: str) -> None:
    with pytest.raises(VideoRejected) as caught:
        video_adapter._read_answer(returncode, out)
    assert caught.value.reason == reason


# --- demo clips ------------------------------------------------------------------------------


def test_demo_clip_is_real_h264_of_the_requested_shape(tmp_path: Path,
                                                       tools: PyAvVideoTools) -> None:
    path = make_demo_clip(tmp_path / "demo.mp4", seconds=3, width=320, height=240, fps=10,
                          seed=7, label="Front door")
    info = tools.probe(path)
    assert (info.container, info.video_codec, info.audio_codec) == ("mp4", "h264", None)
    assert (info.width, info.height, info.rotation) == (320, 240, 0)
    assert info.frame_rate == pytest.approx(10)
    assert info.duration_seconds == pytest.approx(3, abs=0.2)
    assert not list(tmp_path.glob(".*partial"))


def test_demo_clip_frames_move_and_seeds_differ(tmp_path: Path) -> None:
    one = make_demo_clip(tmp_path / "one.mp4", seconds=1, seed=1)
    two = make_demo_clip(tmp_path / "two.mp4", seconds=1, seed=2)
    first, last = frames(one)[0], frames(one)[-1]
    assert difference(first, last) > 1
    assert difference(first, frames(two)[0]) > 1


def frames(path: Path) -> list[Image.Image]:
    with av.open(str(path)) as container:  # our own clip, decoded in-process on purpose
        return [frame.to_image() for frame in container.decode(video=0)]


def test_a_production_process_cannot_be_inspected_by_its_decoder_children(
        tmp_path: Path) -> None:
    """Run in a child of its own (the mark cannot be undone): after ``forbid_inspection``
    Linux counts the process non-dumpable, so same-user processes (the decoder children)
    cannot read its /proc environ or memory; a plain process stays dumpable."""
    script = ("from porchlight.kernel.adapters.process import forbid_inspection, is_dumpable\n"
              "before = is_dumpable()\n"
              "print(before, forbid_inspection(), is_dumpable())\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout.split()
    assert out == ["True", "True", "False"]
