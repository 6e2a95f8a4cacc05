"""Trimming footage to a request's window: a stream copy from the keyframe at or before the
start, in the source's container family, that probes and plays, with honest offsets, run in
the sandboxed child like every other decode.

Clips are encoded with PyAV (``video_encode``) with a keyframe every second (a GOP of 15
frames at 15 fps), so a cut can start near any requested second, and by ``make_demo_clip``,
whose encoder writes a single keyframe, to show what an honest trim reports when it cannot
start near.
"""

from __future__ import annotations

import hashlib
import json
import math
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from porchlight.footage.adapters.video import tools as video_adapter
from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.footage.adapters.video.tools import PyAvVideoTools
from porchlight.kernel.domain.errors import VideoRejected
from porchlight.kernel.services.ports import Trim
from tests.conftest import skip_or_fail
from tests.integration import video_corpus
from tests.integration.video_corpus import mp4_boxes
from tests.integration.video_encode import Clip, encode

FPS = 15
KEYFRAME_INTERVAL = 1.0  # a GOP of FPS frames
SECONDS = 6.0


@dataclass(frozen=True)
class Source:
    name: str
    container: str
    video_codec: str
    audio_codec: str | None
    doctype: str = ""  # Matroska's DocType the copy must carry


H264_MP4 = Source("h264_bframes_aac.mp4", "mp4", "h264", "aac")
H264_MOV = Source("h264_aac.mov", "mp4", "h264", "aac")
FRAGMENTED = Source("h264_fragmented.mp4", "mp4", "h264", "aac")
VP9_WEBM = Source("vp9_opus.webm", "matroska", "vp9", "opus", "webm")
AV1_MKV = Source("av1.mkv", "matroska", "av1", None, "webm")  # WebM-safe codecs: WebM out
H264_MKV = Source("h264_aac.mkv", "matroska", "h264", "aac", "matroska")


def _sources(root: Path) -> list[Clip]:
    h264_aac = {"size": (320, 240), "seconds": SECONDS, "gop": FPS, "audio": "aac"}
    return [
        # B-frames, so the cut must keep frames that decode after the end but show before it
        Clip(root / H264_MP4.name, **h264_aac, options={"preset": "veryfast"}, b_frames=2),
        Clip(root / H264_MOV.name, **h264_aac),
        Clip(root / "upright.mp4", **h264_aac),
        Clip(root / FRAGMENTED.name, **h264_aac,
             muxer={"movflags": "frag_keyframe+empty_moov"}),
        Clip(root / H264_MKV.name, **h264_aac),
        Clip(root / VP9_WEBM.name, (320, 240), SECONDS, gop=FPS, video="libvpx-vp9",
             bit_rate=300_000, audio="libopus"),
        Clip(root / AV1_MKV.name, (320, 240), SECONDS, gop=FPS, video=video_corpus.av1_encoder()),
    ]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = video_corpus.missing_encoders(("libx264", "aac", "libvpx-vp9", "libopus"))
    if missing:
        skip_or_fail(f"this PyAV's FFmpeg lacks encoders the trim sources need: {missing}")
    root = tmp_path_factory.mktemp("trim_sources")
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(encode, _sources(root)))
    upright = (root / "upright.mp4").read_bytes()
    (root / "rotated.mp4").write_bytes(video_corpus.patch_mp4_rotation(upright, 90))
    return root


@pytest.fixture(scope="module")
def tools() -> PyAvVideoTools:
    return PyAvVideoTools()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder holding only the trim's output, so leftovers show."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


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


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def difference(one: Image.Image, other: Image.Image) -> float:
    """Mean absolute difference per channel, 0 to 255."""
    return sum(ImageStat.Stat(ImageChops.difference(one, other)).mean) / 3


def frames(path: Path) -> Iterator[tuple[float, Image.Image]]:
    """(seconds after the video's start, picture) of every frame; our own test files,
    decoded in-process on purpose."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        for frame in container.decode(stream):
            yield float(frame.time) - start, frame.to_image()


def frame_at(path: Path, seconds: float) -> Image.Image:
    return min(frames(path), key=lambda item: abs(item[0] - seconds))[1]


def assert_container_family(target: Path, source: Source) -> None:
    """MP4 with its index first, so it plays while loading; WebM where the codecs allow."""
    data = target.read_bytes()
    if source.container == "mp4":
        top_level = [kind for kind, _offset, _size in mp4_boxes(data)
                     if kind in (b"ftyp", b"moov", b"mdat")]
        assert top_level == [b"ftyp", b"moov", b"mdat"]
    else:
        doctype = source.doctype.encode()
        assert data.startswith(b"\x1a\x45\xdf\xa3")
        assert b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype in data[:64]


def assert_offsets(result: Trim, start: float, end: float) -> None:
    """The copy starts at a keyframe at or before the start, within one keyframe interval,
    and ends with the frame showing at the end (plus B-frames shown before it)."""
    frame = 1 / FPS
    wanted_start, wanted_end = max(start, 0.0), min(end, SECONDS)
    assert wanted_start - KEYFRAME_INTERVAL - 0.01 < result.start_seconds <= wanted_start + 1e-3
    assert wanted_end - 0.01 <= result.end_seconds <= wanted_end + 3 * frame
    assert result.info.duration_seconds == pytest.approx(
        result.end_seconds - result.start_seconds, abs=0.1)


# --- the copy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "start", "end"), [
    (H264_MP4, 2.3, 4.1),  # a middle
    (H264_MP4, 0.0, 1.5),  # the start
    (H264_MP4, 4.5, 10.0),  # the end, asked past it
    (H264_MOV, 1.0, 3.0),  # on a keyframe; MOV comes out as MP4
    (FRAGMENTED, 2.3, 4.1),  # a recorder's fragments come out as one indexed MP4
    (VP9_WEBM, 2.3, 4.1),
    (VP9_WEBM, -2.0, 1.5),
    (VP9_WEBM, 4.5, 10.0),
    (AV1_MKV, 2.3, 4.1),
    (H264_MKV, 2.3, 4.1),
], ids=lambda value: getattr(value, "name", str(value)))
def test_trim_copies_the_window(clips: Path, tools: PyAvVideoTools, work: Path, source: Source,
                                start: float, end: float) -> None:
    path = clips / source.name
    before = sha256(path)
    target = work / f"trimmed{path.suffix}"
    result = tools.trim(path, target, start, end)
    assert result.stream_copy
    info = result.info
    assert (info.container, info.video_codec, info.audio_codec) == (
        source.container, source.video_codec, source.audio_codec)
    assert (info.width, info.height, info.frame_rate) == (320, 240, pytest.approx(FPS))
    assert tools.probe(target) == info
    assert_offsets(result, start, end)
    assert_container_family(target, source)
    assert sha256(target) != before
    assert sha256(path) == before
    assert list(work.iterdir()) == [target]
    copied = list(frames(target))
    assert copied[0][0] == pytest.approx(0.0, abs=0.01)  # timestamps rebased to zero
    assert len(copied) >= round((min(end, SECONDS) - result.start_seconds) * FPS)
    assert difference(copied[0][1], frame_at(path, result.start_seconds)) < 2
    assert difference(copied[0][1], frame_at(path, result.start_seconds + 0.5)) > 4


def test_a_clip_with_one_keyframe_is_copied_from_its_start(tools: PyAvVideoTools,
                                                           tmp_path: Path, work: Path) -> None:
    """The keyframe before the start is far back: still a stream copy, and it says so."""
    clip = make_demo_clip(tmp_path / "demo.mp4", seconds=5, width=320, height=240, fps=FPS)
    with av.open(str(clip)) as container:
        keyframes = [packet for packet in container.demux(video=0) if packet.is_keyframe]
    assert len(keyframes) == 1
    result = tools.trim(clip, work / "trimmed.mp4", 3.0, 4.0)
    assert (result.start_seconds, result.stream_copy) == (0.0, True)
    assert result.end_seconds == pytest.approx(4.0, abs=0.01)  # the frame before 4.0 ends there
    assert result.info.duration_seconds == pytest.approx(result.end_seconds, abs=0.05)


def test_the_copy_keeps_the_rotation(clips: Path, tools: PyAvVideoTools, work: Path) -> None:
    rotated = clips / "rotated.mp4"
    assert tools.probe(rotated).rotation == 90
    assert tools.trim(rotated, work / "trimmed.mp4", 1.0, 2.0).info.rotation == 90


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end"), [(10.0, 12.0), (-3.0, -0.5), (SECONDS + 0.5, 99.0)])
def test_a_window_outside_the_clip_is_refused(clips: Path, tools: PyAvVideoTools, work: Path,
                                              start: float, end: float) -> None:
    with pytest.raises(VideoRejected) as caught:
        tools.trim(clips / H264_MP4.name, work / "trimmed.mp4", start, end)
    assert caught.value.reason == "outside_clip"
    assert "6.0 seconds" in caught.value.message
    assert list(work.iterdir()) == []


@pytest.mark.parametrize(("start", "end"), [(3.0, 3.0), (4.0, 2.0), (math.nan, 1.0),
                                            (0.0, math.inf)])
def test_a_meaningless_window_is_a_value_error_before_any_child(
        clips: Path, tools: PyAvVideoTools, work: Path,
        children: list[subprocess.Popen[bytes]], start: float, end: float) -> None:
    with pytest.raises(ValueError, match="trim window"):
        tools.trim(clips / H264_MP4.name, work / "trimmed.mp4", start, end)
    assert children == []
    assert list(work.iterdir()) == []


def test_a_refused_source_leaves_nothing(tools: PyAvVideoTools, tmp_path: Path,
                                         work: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("Hello neighbours, this is not a video.\n" * 40)
    with pytest.raises(VideoRejected) as caught:
        tools.trim(text, work / "trimmed.mp4", 0.0, 1.0)
    assert caught.value.reason == "not_a_video"
    assert list(work.iterdir()) == []


# --- containment -------------------------------------------------------------------------------


def test_the_child_gets_a_descriptor_never_a_path(clips: Path, tools: PyAvVideoTools,
                                                  work: Path, monkeypatch: pytest.MonkeyPatch,
                                                  children: list[subprocess.Popen[bytes]]) -> None:
    """No path on the command line or in the request: the source and the output reach the
    child as descriptors, in the one message on its socket."""
    sent: list[tuple[bytes, list[int]]] = []
    real_send_fds = video_adapter.socket.send_fds

    def recording_send_fds(sock: Any, buffers: list[bytes], fds: list[int]) -> int:
        sent.append((b"".join(buffers), list(fds)))
        return real_send_fds(sock, buffers, fds)

    monkeypatch.setattr(video_adapter.socket, "send_fds", recording_send_fds)
    tools.trim(clips / H264_MP4.name, work / "trimmed.mp4", 1.0, 2.0)
    assert len(children) == 1
    assert children[0].args[:2] == [sys.executable, "-I"]
    assert repr(video_adapter.WORKER_MODULE) in children[0].args[3]
    assert not any(str(clips) in arg or str(work) in arg for arg in children[0].args)
    [(message, fds)] = sent
    assert len(fds) == 2  # the source, then the output
    request = json.loads(message)
    assert request["op"] == "trim" and "output_fd" not in request
    assert str(clips) not in message.decode() and str(work) not in message.decode()
    assert (work / "trimmed.mp4").stat().st_size > 0


def test_the_file_size_limit_stops_an_output_that_grows(
        clips: Path, tools: PyAvVideoTools, work: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The child's RLIMIT_FSIZE is the parent's cap: past it, a refusal and no file."""
    monkeypatch.setattr(video_adapter, "_output_limit", lambda source_bytes: 4096)
    with pytest.raises(VideoRejected) as caught:
        tools.trim(clips / H264_MP4.name, work / "trimmed.mp4", 0.0, 5.0)
    assert caught.value.reason == "corrupt"
    assert "larger than the whole clip" in caught.value.message
    assert list(work.iterdir()) == []


def test_a_trim_past_its_timeout_is_killed_and_leaves_nothing(
        clips: Path, work: Path, children: list[subprocess.Popen[bytes]]) -> None:
    with pytest.raises(VideoRejected) as caught:
        PyAvVideoTools(timeout_seconds=0.001).trim(clips / H264_MP4.name,
                                                   work / "trimmed.mp4", 1.0, 2.0)
    assert caught.value.reason == "timeout"
    assert len(children) == 1
    assert children[0].returncode == -signal.SIGKILL
    assert not Path(f"/proc/{children[0].pid}").exists()
    assert list(work.iterdir()) == []
