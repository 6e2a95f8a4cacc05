"""Cutting a window out of an opened container by stream copy, inside the video worker.

Runs only in the worker process (``footage.adapters.video.worker``), under its limits. Why it
works the way it does:

* Stream copy, never re-encoding: the evidence an agency receives holds the camera's own
  compressed frames, byte for byte, and the cut costs little CPU. A copy can only start at
  a keyframe, so it starts at the last keyframe at or before the requested start. When
  that keyframe lies far before the start (a camera that writes one keyframe per clip),
  the copy still starts there and the result says so; the reported offsets are always the
  ones the copy really covers, never the ones asked for.
* It ends with the frame that is showing at the requested end, plus whatever frames the
  decoder needs to show it (B-frames reference a later frame), so the last second plays.
* Two passes over the demuxer, not one buffered pass: the first finds the keyframe from
  timestamps alone, the second copies from it. A hostile file with a single keyframe an
  hour back costs a longer read, never a buffer of an hour of packets.
* The output is written to a descriptor the parent opened; this module never sees a path.
  MP4 gets its index (moov) in front ("faststart") so a browser can play it while it
  loads: FFmpeg writes the index last, then re-opens its output to move the data up
  behind it, and we answer that re-open with a reader of the same descriptor.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO

import av
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.stream import Stream

from porchlight.footage.adapters.video.decode import NO_PICTURE, Facts
from porchlight.footage.adapters.video.headers import INCOMPLETE, MP4
from porchlight.kernel.domain.errors import VideoRejected

AVIO_FLAG_WRITE = 2
WEBM_VIDEO = frozenset({"vp8", "vp9", "av1"})
WEBM_AUDIO = frozenset({None, "opus", "vorbis"})
OUTSIDE = ("The requested window lies outside this clip, which lasts {seconds:.1f} seconds, "
           "so there is nothing to copy from it.")
GREW = ("The trimmed copy grew larger than the whole clip, so Porchlight stopped; the clip "
        "may be damaged.")


@dataclass(frozen=True)
class Window:
    """The requested offsets, in seconds after the start of the source's video stream."""

    start: float
    end: float


class OutputFile:
    """The file the parent opened for us, known only by its descriptor.

    It is the one thing this process may write, and only up to the file-size limit the
    parent chose. ``writer`` is buffered so that a short write can never be mistaken for
    a complete one by FFmpeg's I/O layer.
    """

    def __init__(self, descriptor: int) -> None:
        self.descriptor = descriptor
        self.writer = os.fdopen(descriptor, "r+b", closefd=False)

    def reopen(self, url: str, flags: int, options: dict[str, str]) -> _ReadBack:
        """Answer the muxer's re-open (faststart) with a reader, whatever ``url`` it names."""
        if flags & AVIO_FLAG_WRITE:
            raise PermissionError(f"the muxer tried to open {url!r} for writing")
        return _ReadBack(self.descriptor, self.writer.flush)

    def reader(self) -> BinaryIO:
        """The finished output from its first byte, for the probe that checks it."""
        self.writer.flush()
        reader = os.fdopen(self.descriptor, "rb", closefd=False)
        reader.seek(0)
        return reader


class _ReadBack:
    """Reads the descriptor at its own position (pread), so the muxer can read one part of
    the file while it writes another through the same descriptor."""

    def __init__(self, descriptor: int, flush: Callable[[], None]) -> None:
        self.descriptor, self.flush, self.position = descriptor, flush, 0

    def read(self, size: int) -> bytes:
        self.flush()  # what the writer still buffers must be in the file before we read
        data = os.pread(self.descriptor, size, self.position)
        self.position += len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position,
                os.SEEK_END: os.fstat(self.descriptor).st_size}[whence]
        self.position = base + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def close(self) -> None:
        """Nothing to release: the descriptor belongs to ``OutputFile``."""


def trim(container: InputContainer, facts: Facts, output: OutputFile,
         window: Window) -> dict[str, float]:
    """Copy the window to ``output``; answer the offsets really covered, in seconds."""
    video = facts.stream
    origin = video.start_time or 0
    _check_window(facts, window)
    cut = _keyframe_at_or_before(container, video, origin + _ticks(max(window.start, 0.0), video))
    end = origin + _ticks(window.end, video)
    fmt, options = _output_format(facts)
    try:
        with av.open(output.writer, mode="w", format=fmt, options=options,
                     io_open=output.reopen) as out:
            covered_end = _copy(container, out, facts, cut, end)
        output.writer.flush()
    except OSError as exc:
        if exc.errno != errno.EFBIG:
            raise
        raise VideoRejected("corrupt", GREW) from exc
    return {"start_seconds": float((cut - origin) * video.time_base),
            "end_seconds": float(covered_end - origin * video.time_base)}


def _check_window(facts: Facts, window: Window) -> None:
    if window.end <= 0 or window.start >= facts.video_end:
        raise VideoRejected("outside_clip", OUTSIDE.format(seconds=facts.video_end))


def _ticks(seconds: float, stream: Stream) -> int:
    """Seconds as the stream's timestamps count them, to the nearest tick."""
    return round(Fraction(seconds) / stream.time_base)


def _output_format(facts: Facts) -> tuple[str, dict[str, str]]:
    """The input's container family: MP4 with the index in front; WebM when the codecs
    allow it (browsers play it), other Matroska otherwise."""
    if facts.kind == MP4:
        return "mp4", {"movflags": "+faststart"}
    if facts.stream.codec_context.codec.canonical_name in WEBM_VIDEO and (
            facts.audio_codec in WEBM_AUDIO):
        return "webm", {}
    return "matroska", {}


def _packets(container: InputContainer, *streams: Stream) -> Iterator[Packet]:
    """The packets that carry data, in file order; a damaged one ends the copy."""
    for packet in container.demux(*streams):
        if packet.size == 0 or packet.pts is None:
            continue
        if packet.is_corrupt:
            raise VideoRejected("corrupt", INCOMPLETE)
        yield packet


def _decode_ts(packet: Packet) -> int:
    return packet.dts if packet.dts is not None else packet.pts


def _keyframe_at_or_before(container: InputContainer, video: Stream, target: int) -> int:
    """The timestamp of the last keyframe at or before ``target`` (the first keyframe, if
    the video starts later), from packet flags alone; nothing is decoded.

    Decode timestamps only grow, and a frame never shows before it is decoded, so once a
    packet decodes after ``target`` no later keyframe can show at or before it.
    """
    container.seek(target, stream=video, backward=True)
    found: int | None = None
    for packet in _packets(container, video):
        if found is not None and _decode_ts(packet) > target:
            break
        if packet.is_keyframe and (found is None or packet.pts <= target):
            found = packet.pts
    if found is None:
        raise VideoRejected("corrupt", NO_PICTURE)
    return found


class _VideoCut:
    """Which video packets, in decode order, the copy keeps: from the keyframe ``cut``
    through the last packet that shows before ``end``.

    That is a prefix in decode order, so every kept frame can be decoded. With B-frames a
    packet that shows at or after ``end`` may still be a reference for one that shows
    before it and comes later; such packets wait in ``pending`` until one that shows
    before ``end`` proves them needed. The wait is as long as the stream's reorder depth
    (a few frames); a hostile stream that stretches it meets the memory limit.
    """

    def __init__(self, cut: int, end: int, frame_ticks: int) -> None:
        self.cut, self.end, self.frame_ticks = cut, end, frame_ticks
        self.started = self.done = False
        self.pending: list[Packet] = []
        self.shown_until: int | None = None  # where the frames kept stop showing

    def take(self, packet: Packet) -> list[Packet]:
        """The packets to write now, given the next video packet in decode order."""
        if self.done:
            return []
        self.started = self.started or (bool(packet.is_keyframe) and packet.pts == self.cut)
        if not self.started:
            return []
        if _decode_ts(packet) >= self.end:  # it, and all after it, show at or after the end
            self.done, self.pending = True, []
            return []
        self.pending.append(packet)
        if packet.pts >= self.end:
            return []
        kept, self.pending = self.pending, []
        for each in kept:
            until = each.pts + (each.duration or self.frame_ticks)
            self.shown_until = max(until, self.shown_until or until)
        return kept


def _copy(container: InputContainer, out: OutputContainer, facts: Facts, cut: int,
          end: int) -> Fraction:
    """Remux the window into ``out`` with timestamps starting at zero; answer where the
    copied video stops showing, in source seconds."""
    video = facts.stream
    audio = container.streams.audio[0] if container.streams.audio else None
    targets = _add_streams(out, video, audio)
    frames = _VideoCut(cut, end, max(1, round(1 / (facts.frame_rate * video.time_base))))
    start_time, end_time = cut * video.time_base, end * video.time_base
    audio_done = audio is None
    container.seek(cut, stream=video, backward=True)
    for packet in _packets(container, *(s for s in (video, audio) if s is not None)):
        if packet.stream.index == video.index:
            kept = frames.take(packet)
        else:
            shown = packet.pts * packet.time_base
            audio_done = audio_done or shown >= end_time
            kept = [packet] if start_time <= shown < end_time else []
        for each in kept:
            _shift(each, start_time)
            each.stream = targets[each.stream.index]
            out.mux(each)
        if frames.done and audio_done:
            break
    if frames.shown_until is None:
        raise VideoRejected("corrupt", NO_PICTURE)
    return frames.shown_until * video.time_base


def _add_streams(out: OutputContainer, video: Stream,
                 audio: Stream | None) -> dict[int, Stream]:
    """Output streams for the video and the first sound track, by source stream index.

    Other tracks (subtitles, a camera's data or timecode track) are left out: the evidence
    is the picture and its sound. ``opaque`` takes the codec from the source as it is;
    otherwise PyAV looks up an encoder by the decoder's name, and there is no "libdav1d"
    encoder (AV1).
    """
    targets = {video.index: out.add_stream_from_template(video, opaque=True)}
    if audio is not None:
        targets[audio.index] = out.add_stream_from_template(audio, opaque=True)
    return targets


def _shift(packet: Packet, seconds: Fraction) -> None:
    """Move the packet ``seconds`` earlier, in its own time base (the output starts at 0)."""
    ticks = round(seconds / packet.time_base)
    packet.pts -= ticks
    if packet.dts is not None:
        packet.dts -= ticks

