"""Container sniffing and the picture sizes a container header declares, read by hand.

Why by hand, before FFmpeg sees a byte:

* FFmpeg picks a demuxer by probing the content, so a playlist named ``.mp4`` would reach
  the HLS demuxer and make it open other files or URLs. We pick the demuxer ourselves from
  the first bytes, from a whitelist of two, and force it.
* FFmpeg replaces the width and height an MP4 (``tkhd``, sample entry) or Matroska
  (``PixelWidth``...) header declares with the ones in the codec bitstream, so a header
  claiming 60000x60000 looks harmless through PyAV, yet misleads any player or tool that
  trusts the header. We read the declared sizes ourselves and hold them to the limits.
* A top-level box or element that runs past the end of the file means the upload was cut
  short; that is cheaper and clearer to say here than after a decoder error.

Pure Python with bounded reads; it runs inside the worker process with the other
untrusted-input code.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from porchlight.kernel.domain.errors import VideoRejected

MP4 = "mp4"
MATROSKA = "matroska"
SNIFF_BYTES = 512
EBML_MAGIC = b"\x1a\x45\xdf\xa3"
STILL_IMAGE_BRANDS = frozenset({b"mif1", b"msf1", b"heic", b"heix", b"heim", b"heis", b"avif",
                                b"avis", b"avci", b"jpgs", b"jpeg"})
MAX_ELEMENTS = 100_000  # boxes or elements one file may make us visit

ACCEPTED = "Porchlight accepts MP4, MOV, MKV and WebM video files."
STILL_IMAGE = f"This is a still picture, not a video. {ACCEPTED}"
INCOMPLETE = ("The file is incomplete: it ends before the video does. The upload may have "
              "been cut short; please try again.")
MALFORMED = "The video file is damaged: its internal structure does not add up."

_BINARY_SIGNATURES: tuple[tuple[int, bytes, str, str], ...] = (
    # (offset, magic, reason, message)
    (0, b"\x89PNG", "not_a_video", STILL_IMAGE),
    (0, b"\xff\xd8\xff", "not_a_video", STILL_IMAGE),
    (0, b"GIF8", "not_a_video", STILL_IMAGE),
    (8, b"WEBP", "not_a_video", STILL_IMAGE),
    (0, b"II*\x00", "not_a_video", STILL_IMAGE),
    (0, b"MM\x00*", "not_a_video", STILL_IMAGE),
    (8, b"AVI ", "container_not_allowed", f"This is an AVI file. {ACCEPTED}"),
    (0, b"FLV", "container_not_allowed", f"This is a Flash (FLV) file. {ACCEPTED}"),
    (0, b"OggS", "container_not_allowed", f"This is an Ogg file. {ACCEPTED}"),
    (0, b"\x30\x26\xb2\x75", "container_not_allowed",
     f"This is a Windows Media file. {ACCEPTED}"),
    (0, b"\x00\x00\x01\xba", "container_not_allowed",
     f"This is an MPEG program stream. {ACCEPTED}"),
    (0, b"ID3", "no_video_stream", "This is a sound recording with no picture."),
    (8, b"WAVE", "no_video_stream", "This is a sound recording with no picture."),
)
_TEXT_LISTS = (b"#EXTM3U", b"#EXT", b"ffconcat", b"<?xml", b"<MPD")


def sniff(head: bytes) -> str:
    """The demuxer family for these first bytes, ``MP4`` or ``MATROSKA``, or a refusal."""
    if not head:
        raise VideoRejected("not_a_video", "The file is empty: no video arrived. Please try again.")
    if head[4:8] == b"ftyp":
        if head[8:12] in STILL_IMAGE_BRANDS:
            raise VideoRejected("not_a_video", STILL_IMAGE)
        return MP4
    if head.startswith(EBML_MAGIC):
        return MATROSKA
    _refuse_known(head)
    raise VideoRejected("not_a_video", f"This file is not a video Porchlight can read. {ACCEPTED}")


def _refuse_known(head: bytes) -> None:
    """Name the format when we recognise it, so the resident knows what went wrong."""
    for offset, magic, reason, message in _BINARY_SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            raise VideoRejected(reason, message)
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        raise VideoRejected("container_not_allowed",
                            f"This is an MPEG transport stream. {ACCEPTED}")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(_TEXT_LISTS):
        raise VideoRejected(
            "container_not_allowed",
            "This is a playlist or a list of other files, not a video. Upload the video "
            "file itself.",
        )


def declared_sizes(f: BinaryIO, kind: str, file_size: int) -> list[tuple[int, int]]:
    """Every (width, height) the header declares; raises if the file is cut short."""
    budget = _Budget()
    if kind == MP4:
        return _mp4_sizes(f, file_size, budget)
    return _matroska_sizes(f, file_size, budget)


class _Budget:
    """Caps how many boxes or elements a crafted file can make us walk."""

    def __init__(self) -> None:
        self.left = MAX_ELEMENTS

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise VideoRejected("corrupt", MALFORMED)


# --- ISO base media (MP4, MOV) --------------------------------------------------------------


def _boxes(f: BinaryIO, start: int, end: int, budget: _Budget) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box in [start, end)."""
    pos = start
    while pos + 8 <= end:
        budget.spend()
        f.seek(pos)
        header = f.read(16)
        size, kind = struct.unpack(">I4s", header[:8])
        header_len = 8
        if size == 1 and len(header) == 16:
            size, header_len = struct.unpack(">Q", header[8:16])[0], 16
        elif size == 0:
            size = end - pos
        if size < header_len:
            raise VideoRejected("corrupt", MALFORMED)
        if pos + size > end:
            raise VideoRejected("corrupt", INCOMPLETE if start == 0 else MALFORMED)
        yield kind, pos + header_len, pos + size
        pos += size


def _descend(f: BinaryIO, spans: list[tuple[int, int]], path: tuple[bytes, ...],
             budget: _Budget) -> list[tuple[int, int]]:
    """The payload spans of the boxes at ``path`` below each span."""
    for name in path:
        spans = [(s, e) for start, end in spans
                 for kind, s, e in _boxes(f, start, end, budget) if kind == name]
    return spans


def _read(f: BinaryIO, start: int, end: int, cap: int) -> bytes:
    f.seek(start)
    return f.read(min(end - start, cap))


def _mp4_sizes(f: BinaryIO, file_size: int, budget: _Budget) -> list[tuple[int, int]]:
    sizes: list[tuple[int, int]] = []
    for kind, start, end in _boxes(f, 0, file_size, budget):  # walks every top-level box
        if kind == b"moov":
            for trak in _descend(f, [(start, end)], (b"trak",), budget):
                sizes += _trak_sizes(f, trak, budget)
    return sizes


def _trak_sizes(f: BinaryIO, trak: tuple[int, int], budget: _Budget) -> list[tuple[int, int]]:
    """The track header's presentation size and, for video tracks, each sample entry's."""
    sizes = []
    for start, end in _descend(f, [trak], (b"tkhd",), budget):
        payload = _read(f, start, end, 128)
        offset = 88 if payload[:1] == b"\x01" else 76
        if len(payload) >= offset + 8:
            width, height = struct.unpack(">II", payload[offset : offset + 8])
            sizes.append((width >> 16, height >> 16))
    hdlr = _descend(f, [trak], (b"mdia", b"hdlr"), budget)
    handlers = [_read(f, start, end, 12)[8:12] for start, end in hdlr]
    if b"vide" in handlers:
        path = (b"mdia", b"minf", b"stbl", b"stsd")
        for start, end in _descend(f, [trak], path, budget):
            for _kind, entry_start, entry_end in _boxes(f, start + 8, end, budget):
                entry = _read(f, entry_start, entry_end, 28)
                if len(entry) == 28:
                    sizes.append(struct.unpack(">HH", entry[24:28]))
    return sizes


# --- Matroska, WebM --------------------------------------------------------------------------

_SEGMENT, _TRACKS, _TRACK_ENTRY, _VIDEO, _CLUSTER = 0x18538067, 0x1654AE6B, 0xAE, 0xE0, 0x1F43B675
_SIZE_FIELDS = {0xB0: 0, 0xBA: 1, 0x54B0: 0, 0x54BA: 1}  # Pixel/Display Width/Height
_UNKNOWN = -1


def _vint(f: BinaryIO, keep_marker: bool) -> int:
    """An EBML variable-length integer; ``_UNKNOWN`` for the all-ones "unknown size"."""
    first = f.read(1)
    if not first or first[0] == 0:
        raise VideoRejected("corrupt", MALFORMED)
    length = 9 - first[0].bit_length()
    rest = f.read(length - 1)
    if len(rest) != length - 1:
        raise VideoRejected("corrupt", INCOMPLETE)
    value = int.from_bytes(first + rest, "big")
    if keep_marker:
        return value
    value &= (1 << (7 * length)) - 1
    return _UNKNOWN if value == (1 << (7 * length)) - 1 else value


def _elements(f: BinaryIO, start: int, end: int,
              budget: _Budget) -> Iterator[tuple[int, int, int]]:
    """(id, data start, data end) of each element in [start, end); stops at unknown sizes."""
    pos = start
    while pos < end:
        budget.spend()
        f.seek(pos)
        element_id = _vint(f, keep_marker=True)
        size = _vint(f, keep_marker=False)
        data = f.tell()
        if size == _UNKNOWN:
            yield element_id, data, end
            return
        if data + size > end:
            raise VideoRejected("corrupt", INCOMPLETE if start == 0 else MALFORMED)
        yield element_id, data, data + size
        pos = data + size


def _matroska_sizes(f: BinaryIO, file_size: int, budget: _Budget) -> list[tuple[int, int]]:
    sizes: list[tuple[int, int]] = []
    for element_id, start, end in _elements(f, 0, file_size, budget):
        if element_id != _SEGMENT:
            continue
        for child_id, child_start, child_end in _elements(f, start, end, budget):
            if child_id == _CLUSTER:
                break  # the track headers come before the first cluster
            if child_id == _TRACKS:
                sizes += _tracks_sizes(f, child_start, child_end, budget)
    return sizes


def _tracks_sizes(f: BinaryIO, start: int, end: int, budget: _Budget) -> list[tuple[int, int]]:
    sizes = []
    for entry_id, entry_start, entry_end in _elements(f, start, end, budget):
        if entry_id != _TRACK_ENTRY:
            continue
        for video_id, video_start, video_end in _elements(f, entry_start, entry_end, budget):
            if video_id == _VIDEO:
                sizes += _video_sizes(f, video_start, video_end, budget)
    return sizes


def _video_sizes(f: BinaryIO, start: int, end: int, budget: _Budget) -> list[tuple[int, int]]:
    """(PixelWidth, PixelHeight) and (DisplayWidth, DisplayHeight), whichever are present."""
    pixel, display = [0, 0], [0, 0]
    for field_id, data_start, data_end in _elements(f, start, end, budget):
        if field_id in _SIZE_FIELDS and data_end - data_start <= 8:
            target = pixel if field_id in (0xB0, 0xBA) else display
            value = _read(f, data_start, data_end, 8)
            target[_SIZE_FIELDS[field_id]] = int.from_bytes(value, "big")
    return [(pixel[0], pixel[1]), (display[0], display[1])]
