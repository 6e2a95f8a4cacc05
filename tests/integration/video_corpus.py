"""Builds the video test corpus at test time with Debian's ffmpeg CLI.

The legitimate clips come from a tool nobody here wrote, at the shapes doorbells record;
the hostile files are made from them by cutting, patching and renaming. The box and
element parsing here is deliberately separate from the adapter's, so a bug in one does
not hide a bug in the other.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

FFMPEG = shutil.which("ffmpeg")
AV1_ENCODERS = ("libsvtav1", "libaom-av1", "librav1e")
REQUIRED_ENCODERS = ("libx264", "libx265", "libvpx-vp9", "aac", "libopus", "libmp3lame", "mpeg4",
                     "pcm_s16le", "png", "mjpeg")
X264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")


@dataclass(frozen=True)
class Legit:
    """A clip that must be accepted, and what the probe must report for it."""

    name: str
    container: str
    video_codec: str
    audio_codec: str | None
    width: int
    height: int
    seconds: float
    rotated: bool = False  # expected rotation is read from the track header's matrix


LEGIT = (
    Legit("h264_1080p_aac.mp4", "mp4", "h264", "aac", 1920, 1080, 1.0),
    Legit("h264_1536_square.mp4", "mp4", "h264", None, 1536, 1536, 2.4),
    Legit("h264_720p_rotate90tag.mp4", "mp4", "h264", None, 1280, 720, 1.0, rotated=True),
    Legit("h264_720p_rotate270tag.mp4", "mp4", "h264", None, 1280, 720, 1.0, rotated=True),
    Legit("h264_aac.mov", "mp4", "h264", "aac", 640, 360, 1.0),
    Legit("hevc_aac.mp4", "mp4", "hevc", "aac", 640, 360, 1.0),
    Legit("vp9_opus.webm", "matroska", "vp9", "opus", 640, 360, 1.0),
    Legit("av1.mkv", "matroska", "av1", None, 320, 240, 1.0),
    # as live recorders write them: no duration in the header, or fragments after the moov
    Legit("vp9_live_no_duration.webm", "matroska", "vp9", None, 640, 360, 2.4),
    Legit("h264_fragmented.mp4", "mp4", "h264", "aac", 640, 360, 2.4),
)

# name -> the reason the probe must give
HOSTILE = {
    "empty.mp4": "not_a_video",
    "text.mp4": "not_a_video",
    "truncated_60.mp4": "corrupt",
    "truncated_60_faststart.mp4": "corrupt",
    "cut_after_moov.mp4": "corrupt",
    "truncated_60.webm": "corrupt",
    "absurd_dimensions.mp4": "too_many_pixels",
    "absurd_dimensions.webm": "too_many_pixels",
    "oversize_picture.mp4": "too_many_pixels",
    "understated_dimensions.mp4": "too_many_pixels",
    "truncated_mdat_resized.mp4": "corrupt",
    "audio_only.m4a": "no_video_stream",
    "mp3_named.mp4": "no_video_stream",
    "png_named.mp4": "not_a_video",
    "jpeg_named.mp4": "not_a_video",
    "single_frame.mp4": "not_a_video",
    "fps_240.mp4": "frame_rate_too_high",
    "mpeg4_part2.mp4": "codec_not_allowed",
    "pcm_audio.mov": "codec_not_allowed",
    "avi_named.mp4": "container_not_allowed",
    "mpegts_named.mp4": "container_not_allowed",
}


def ffmpeg(*args: str | Path) -> None:
    if FFMPEG is None:
        raise AssertionError("Debian's ffmpeg CLI is required to build the video corpus")
    command = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stderr}")


def encoders() -> set[str]:
    """The encoders this ffmpeg has, from ``ffmpeg -encoders``."""
    if FFMPEG is None:
        return set()
    listing = subprocess.run([FFMPEG, "-hide_banner", "-encoders"],
                             capture_output=True, text=True, check=True).stdout
    return {line.split()[1] for line in listing.splitlines()
            if len(line.split()) > 1 and line.startswith(" ") and "=" not in line.split()[1]}


def testsrc(size: str, seconds: float, rate: int = 15, source: str = "testsrc2") -> list[str]:
    """A lavfi source; ``source`` may carry its own options ("color=c=gray")."""
    joiner = ":" if "=" in source else "="
    return ["-f", "lavfi", "-i", f"{source}{joiner}size={size}:rate={rate}:duration={seconds}"]


def sine(seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]


class Corpus:
    """The built files, by name, in one temporary folder."""

    def __init__(self, root: Path, available: set[str]) -> None:
        self.root = root
        self.av1_encoder = next(name for name in AV1_ENCODERS if name in available)

    def path(self, name: str) -> Path:
        return self.root / name


def build(root: Path, available: set[str]) -> Corpus:
    """Encode every source clip (two ffmpeg at a time), then derive the damaged files."""
    corpus = Corpus(root, available)
    sources = [*_legit_sources(corpus), *_hostile_sources(corpus)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda args: ffmpeg(*args), sources))
    _make_remuxed(corpus)
    _make_damaged(corpus)
    _make_renamed(corpus)
    return corpus


def _legit_sources(c: Corpus) -> Iterator[list[str | Path]]:
    yield [*testsrc("1920x1080", 1), *sine(1), *X264, "-c:a", "aac", "-shortest",
           c.path("h264_1080p_aac.mp4")]
    yield [*testsrc("1536x1536", 2.4), *X264, c.path("h264_1536_square.mp4")]
    yield [*testsrc("1280x720", 1), *X264, c.path("h264_720p.mp4")]
    yield [*testsrc("640x360", 1), *sine(1), *X264, "-c:a", "aac", "-shortest",
           c.path("h264_aac.mov")]
    yield [*testsrc("640x360", 1), *sine(1), "-c:v", "libx265", "-preset", "ultrafast",
           "-x265-params", "log-level=error", "-pix_fmt", "yuv420p", "-tag:v", "hvc1",
           "-c:a", "aac", "-shortest", c.path("hevc_aac.mp4")]
    yield [*testsrc("640x360", 1), *sine(1), "-c:v", "libvpx-vp9", "-deadline", "realtime",
           "-cpu-used", "8", "-b:v", "500k", "-c:a", "libopus", "-shortest",
           c.path("vp9_opus.webm")]
    yield [*testsrc("320x240", 1), "-c:v", c.av1_encoder, *_AV1_SPEED[c.av1_encoder],
           c.path("av1.mkv")]
    yield [*testsrc("640x360", 2.4), "-c:v", "libvpx-vp9", "-deadline", "realtime",
           "-cpu-used", "8", "-g", "15", "-live", "1", c.path("vp9_live_no_duration.webm")]
    yield [*testsrc("640x360", 2.4), *sine(2.4), *X264, "-g", "15", "-c:a", "aac", "-shortest",
           "-movflags", "frag_keyframe+empty_moov", c.path("h264_fragmented.mp4")]


_AV1_SPEED = {"libsvtav1": ["-preset", "12"], "libaom-av1": ["-cpu-used", "8", "-usage",
              "realtime"], "librav1e": ["-speed", "10"]}


def _hostile_sources(c: Corpus) -> Iterator[list[str | Path]]:
    yield [*testsrc("1920x1080", 1), *sine(1), *X264, "-c:a", "aac", "-shortest",
           "-movflags", "+faststart", c.path("faststart.mp4")]
    yield [*testsrc("4112x64", 0.4, source="color=c=gray"), *X264, c.path("oversize_picture.mp4")]
    yield [*testsrc("4096x4096", 0.2, source="color=c=gray"), *X264, c.path("bomb_4096.mp4")]
    yield [*sine(1), "-c:a", "aac", c.path("audio_only.m4a")]
    yield [*sine(1), "-c:a", "libmp3lame", "-f", "mp3", c.path("mp3_named.mp4")]
    yield [*testsrc("640x360", 1), "-frames:v", "1", c.path("still.png")]
    yield [*testsrc("640x360", 1), "-frames:v", "1", c.path("still.jpg")]
    yield [*testsrc("640x360", 1), "-frames:v", "1", *X264, c.path("single_frame.mp4")]
    yield [*testsrc("320x240", 0.5, rate=240), *X264, c.path("fps_240.mp4")]
    yield [*testsrc("320x240", 1), "-c:v", "mpeg4", c.path("mpeg4_part2.mp4")]
    yield [*testsrc("320x240", 1), *sine(1), *X264, "-c:a", "pcm_s16le", "-shortest",
           c.path("pcm_audio.mov")]
    yield [*testsrc("320x240", 1), "-c:v", "mpeg4", "-f", "avi", c.path("avi_named.mp4")]
    yield [*testsrc("320x240", 1), *X264, "-f", "mpegts", c.path("mpegts_named.mp4")]


def _make_remuxed(c: Corpus) -> None:
    """Rotation metadata as this ffmpeg writes it: the stream-copy ``rotate`` tag."""
    for degrees in (90, 270):
        ffmpeg("-i", c.path("h264_720p.mp4"), "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}",
               c.path(f"h264_720p_rotate{degrees}tag.mp4"))


def _make_damaged(c: Corpus) -> None:
    _truncate(c.path("h264_1080p_aac.mp4"), c.path("truncated_60.mp4"), 0.6)
    _truncate(c.path("faststart.mp4"), c.path("truncated_60_faststart.mp4"), 0.6)
    _truncate(c.path("vp9_opus.webm"), c.path("truncated_60.webm"), 0.6)
    data = c.path("faststart.mp4").read_bytes()
    moov_end = next(start + size for kind, start, size in mp4_boxes(data) if kind == b"moov")
    c.path("cut_after_moov.mp4").write_bytes(data[:moov_end])
    c.path("absurd_dimensions.mp4").write_bytes(patch_mp4_dimensions(data, 60000, 60000))
    oversize = c.path("oversize_picture.mp4").read_bytes()
    c.path("understated_dimensions.mp4").write_bytes(patch_mp4_dimensions(oversize, 640, 64))
    c.path("truncated_mdat_resized.mp4").write_bytes(_cut_keeping_boxes_whole(data, 0.6))
    webm = c.path("vp9_opus.webm").read_bytes()
    c.path("absurd_dimensions.webm").write_bytes(patch_matroska_dimensions(webm, 60000))


def _make_renamed(c: Corpus) -> None:
    c.path("empty.mp4").write_bytes(b"")
    c.path("text.mp4").write_text("Hello neighbours, this is not a video.\n" * 40)
    shutil.copyfile(c.path("still.png"), c.path("png_named.mp4"))
    shutil.copyfile(c.path("still.jpg"), c.path("jpeg_named.mp4"))


def _cut_keeping_boxes_whole(data: bytes, share: float) -> bytes:
    """Cut inside the mdat and shrink its size to match: every box adds up, yet the sample
    table still points past the end, as after a crafted or badly repaired upload."""
    cut = int(len(data) * share)
    _kind, mdat, size = next(box for box in mp4_boxes(data) if box[0] == b"mdat")
    if size == 1 or not mdat < cut < mdat + size:
        raise AssertionError("expected a 32-bit mdat box spanning the cut")
    return data[:mdat] + struct.pack(">I", cut - mdat) + data[mdat + 4 : cut]


def _truncate(source: Path, target: Path, share: float) -> None:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * share)])


# --- hand-written parsing, independent of the adapter's ------------------------------------

_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def mp4_boxes(data: bytes, start: int = 0,
              end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset, size) of every box, depth first, descending into the usual containers."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[offset + 8 : offset + 16])[0], 16
        yield kind, offset, size
        if kind in _MP4_CONTAINERS:
            yield from mp4_boxes(data, offset + header, offset + size)
        if kind == b"stsd":
            yield from mp4_boxes(data, offset + header + 8, offset + size)
        offset += size


def patch_mp4_dimensions(data: bytes, width: int, height: int) -> bytes:
    """Make the moov declare ``width`` x ``height`` in every video tkhd and avc1 entry."""
    patched = bytearray(data)
    for kind, offset, _size in mp4_boxes(data):
        if kind == b"tkhd":
            field = offset + 8 + (88 if data[offset + 8] == 1 else 76)
            if struct.unpack(">I", data[field : field + 4])[0]:  # a video track: non-zero
                patched[field : field + 8] = struct.pack(">II", width << 16, height << 16)
        if kind == b"avc1":
            patched[offset + 32 : offset + 36] = struct.pack(">HH", width, height)
    if patched == bytearray(data):
        raise AssertionError("found no tkhd or avc1 box to patch")
    return bytes(patched)


def tkhd_rotation(data: bytes) -> int:
    """Clockwise display rotation from the first video track's matrix (ISO 14496-12 §8.3.2)."""
    for kind, offset, _size in mp4_boxes(data):
        if kind == b"tkhd":
            matrix = offset + 8 + (88 if data[offset + 8] == 1 else 76) - 36
            a, b, _u, c, d = struct.unpack(">5i", data[matrix : matrix + 20])
            if struct.unpack(">I", data[matrix + 36 : matrix + 40])[0]:
                turns = {(1, 0, 0, 1): 0, (0, 1, -1, 0): 90, (-1, 0, 0, -1): 180,
                         (0, -1, 1, 0): 270}
                return turns[(a >> 16, b >> 16, c >> 16, d >> 16)]
    raise AssertionError("no video tkhd")


def _vint(data: bytes, at: int) -> tuple[int, int]:
    """(value with the length marker removed, length) of the EBML number at ``at``."""
    length = 9 - data[at].bit_length()
    value = int.from_bytes(data[at : at + length], "big") & ((1 << (7 * length)) - 1)
    return value, length


def matroska_elements(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(id, data offset, data size) of each element in [start, end)."""
    at = start
    while at < end:
        id_length = 9 - data[at].bit_length()
        element_id = int.from_bytes(data[at : at + id_length], "big")
        size, size_length = _vint(data, at + id_length)
        offset = at + id_length + size_length
        yield element_id, offset, size
        at = offset + size


_MATROSKA_PATH = (0x18538067, 0x1654AE6B, 0xAE, 0xE0)  # Segment, Tracks, TrackEntry, Video


def patch_matroska_dimensions(data: bytes, value: int) -> bytes:
    """Overwrite every video track's PixelWidth and PixelHeight with ``value``."""
    spans = [(0, len(data))]
    for wanted in _MATROSKA_PATH:
        spans = [(offset, offset + size) for start, end in spans
                 for element_id, offset, size in matroska_elements(data, start, end)
                 if element_id == wanted]
    patched = bytearray(data)
    for start, end in spans:
        for element_id, offset, size in matroska_elements(data, start, end):
            if element_id in (0xB0, 0xBA):  # PixelWidth, PixelHeight
                patched[offset : offset + size] = value.to_bytes(size, "big")
    if patched == bytearray(data):
        raise AssertionError("found no PixelWidth or PixelHeight to patch")
    return bytes(patched)


def reference_frame(clip: Path, at_seconds: float, out: Path) -> Image.Image:
    """The keyframe ffmpeg seeks to for ``at_seconds`` (the last at or before it, as
    ``-noaccurate_seek`` leaves it), turned upright as ffmpeg's player would."""
    ffmpeg("-ss", f"{at_seconds}", "-noaccurate_seek", "-i", clip, "-frames:v", "1", out)
    with Image.open(out) as image:
        return image.convert("RGB")
