"""Builds the video test corpus at test time, encoding with PyAV (``video_encode``).

The legitimate clips come from FFmpeg's encoders (libx264, libx265, libvpx, SVT-AV1) at the
shapes doorbells record; the hostile files are made from them by cutting, patching and
renaming. PyAV's wheels carry every encoder and muxer needed, so nothing here depends on a
system tool. The box and element parsing here is deliberately separate from the adapter's,
so a bug in one does not hide a bug in the other.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from tests.integration.video_encode import Clip, encode, encoder_available, picture

AV1_ENCODERS = ("libsvtav1", "libaom-av1")
REQUIRED_ENCODERS = ("libx264", "libx265", "libvpx-vp9", "aac", "libopus", "libmp3lame", "mpeg4",
                     "pcm_s16le")
RATE = 15  # frames a second of every clip below but one


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
    rotation: int = 0  # clockwise, as written into the track header's matrix


LEGIT = (
    Legit("h264_1080p_aac.mp4", "mp4", "h264", "aac", 1920, 1080, 1.0),
    Legit("h264_1536_square.mp4", "mp4", "h264", None, 1536, 1536, 2.4),
    Legit("h264_720p_rotated90.mp4", "mp4", "h264", None, 1280, 720, 1.0, rotation=90),
    Legit("h264_720p_rotated270.mp4", "mp4", "h264", None, 1280, 720, 1.0, rotation=270),
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


def missing_encoders(needed: tuple[str, ...] = REQUIRED_ENCODERS) -> list[str]:
    """Those of ``needed``, and of the AV1 encoders, that PyAV's FFmpeg lacks (its wheels
    have them all)."""
    missing = [name for name in needed if not encoder_available(name)]
    if not any(encoder_available(name) for name in AV1_ENCODERS):
        missing.append(" or ".join(AV1_ENCODERS))
    return missing


def av1_encoder() -> str:
    return next(name for name in AV1_ENCODERS if encoder_available(name))


class Corpus:
    """The built files, by name, in one temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / name


def build(root: Path) -> Corpus:
    """Encode every source clip (two at a time), then derive the rotated, damaged and
    renamed files from them."""
    corpus = Corpus(root)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(encode, [*_legit_sources(root), *_hostile_sources(root)]))
    _make_rotated(corpus)
    _make_stills(corpus)
    _make_damaged(corpus)
    _make_renamed(corpus)
    return corpus


def _legit_sources(root: Path) -> Iterator[Clip]:
    yield Clip(root / "h264_1080p_aac.mp4", (1920, 1080), audio="aac")
    yield Clip(root / "h264_1536_square.mp4", (1536, 1536), 2.4)
    yield Clip(root / "h264_720p.mp4", (1280, 720))
    yield Clip(root / "h264_aac.mov", (640, 360), audio="aac")
    yield Clip(root / "hevc_aac.mp4", (640, 360), video="libx265", tag="hvc1", audio="aac")
    yield Clip(root / "vp9_opus.webm", (640, 360), video="libvpx-vp9", bit_rate=500_000,
               audio="libopus")
    yield Clip(root / "av1.mkv", (320, 240), video=av1_encoder())
    yield Clip(root / "vp9_live_no_duration.webm", (640, 360), 2.4, video="libvpx-vp9",
               gop=RATE, muxer={"live": "1"})
    yield Clip(root / "h264_fragmented.mp4", (640, 360), 2.4, gop=RATE, audio="aac",
               muxer={"movflags": "frag_keyframe+empty_moov"})


def _hostile_sources(root: Path) -> Iterator[Clip]:
    yield Clip(root / "faststart.mp4", (1920, 1080), audio="aac", muxer={"movflags": "+faststart"})
    yield Clip(root / "oversize_picture.mp4", (4112, 64), 0.4, flat=True)
    yield Clip(root / "bomb_4096.mp4", (4096, 4096), 0.2, flat=True)
    yield Clip(root / "audio_only.m4a", None, audio="aac")
    yield Clip(root / "mp3_named.mp4", None, audio="libmp3lame", container="mp3")
    yield Clip(root / "single_frame.mp4", (640, 360), 1 / RATE)
    yield Clip(root / "fps_240.mp4", (320, 240), 0.5, rate=240)
    yield Clip(root / "mpeg4_part2.mp4", video="mpeg4")
    yield Clip(root / "pcm_audio.mov", audio="pcm_s16le")
    yield Clip(root / "avi_named.mp4", video="mpeg4", container="avi")
    yield Clip(root / "mpegts_named.mp4", container="mpegts")


def _make_rotated(c: Corpus) -> None:
    """A doorbell mounted on its side records upright pictures and says how to turn them in
    the track header's matrix."""
    data = c.path("h264_720p.mp4").read_bytes()
    for degrees in (90, 270):
        c.path(f"h264_720p_rotated{degrees}.mp4").write_bytes(patch_mp4_rotation(data, degrees))


def _make_stills(c: Corpus) -> None:
    still = picture((640, 360), 0)
    still.save(c.path("still.png"), "PNG")
    still.save(c.path("still.jpg"), "JPEG", quality=90)


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


def _video_tkhds(data: bytes) -> Iterator[int]:
    """The offset of the width field of every video track's tkhd (audio's is zero)."""
    for kind, offset, _size in mp4_boxes(data):
        if kind == b"tkhd":
            field = offset + 8 + (88 if data[offset + 8] == 1 else 76)
            if struct.unpack(">I", data[field : field + 4])[0]:
                yield field


def patch_mp4_dimensions(data: bytes, width: int, height: int) -> bytes:
    """Make the moov declare ``width`` x ``height`` in every video tkhd and avc1 entry."""
    patched = bytearray(data)
    for field in _video_tkhds(data):
        patched[field : field + 8] = struct.pack(">II", width << 16, height << 16)
    for kind, offset, _size in mp4_boxes(data):
        if kind == b"avc1":
            patched[offset + 32 : offset + 36] = struct.pack(">HH", width, height)
    if patched == bytearray(data):
        raise AssertionError("found no tkhd or avc1 box to patch")
    return bytes(patched)


# (a, b, c, d) of the matrix for each clockwise turn, in 16.16 units (ISO 14496-12 §8.3.2)
_TURNS = {0: (1, 0, 0, 1), 90: (0, 1, -1, 0), 180: (-1, 0, 0, -1), 270: (0, -1, 1, 0)}


def tkhd_rotation(data: bytes) -> int:
    """Clockwise display rotation from the first video track's matrix."""
    for field in _video_tkhds(data):
        a, b, _u, c, d = struct.unpack(">5i", data[field - 36 : field - 16])
        return {turn: degrees for degrees, turn in _TURNS.items()}[
            (a >> 16, b >> 16, c >> 16, d >> 16)]
    raise AssertionError("no video tkhd")


def patch_mp4_rotation(data: bytes, degrees: int) -> bytes:
    """Write a clockwise turn of ``degrees`` into every video tkhd's matrix."""
    a, b, c, d = _TURNS[degrees]
    matrix = struct.pack(">9i", a << 16, b << 16, 0, c << 16, d << 16, 0, 0, 0, 1 << 30)
    patched = bytearray(data)
    for field in _video_tkhds(data):
        patched[field - 36 : field] = matrix
    if patched == bytearray(data):
        raise AssertionError("found no video tkhd to turn")
    return bytes(patched)


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


def keyframe_at_or_before(clip: Path, at_seconds: float, rate: int = RATE) -> int:
    """The number of the last frame at or before ``at_seconds`` that the container marks as
    a keyframe (packet flags and times only; nothing is decoded)."""
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        start = stream.start_time or 0
        times = [Fraction(packet.pts - start) * stream.time_base
                 for packet in container.demux(stream)
                 if packet.is_keyframe and packet.pts is not None]
    return round(max(time for time in times if time <= at_seconds) * rate)
