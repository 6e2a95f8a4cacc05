"""What the video worker does with an opened container: check it, probe it, draw a poster.

Runs only inside the worker process (``footage.adapters.video.worker``), under its limits. Checks
go cheapest first: what the headers declare, then the first decoded frames, then the
packets at the end, so a hostile file is refused before it costs much.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import av
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image

from porchlight.footage.adapters.video.headers import INCOMPLETE
from porchlight.kernel.domain.errors import VideoRejected

VIDEO_CODECS = frozenset({"h264", "hevc", "vp9", "av1"})
AUDIO_CODECS = frozenset({"aac", "opus", "mp3", "vorbis", "flac"})
AV_TIME_BASE = 1_000_000
DECODER_THREADS = 2  # fixed, so memory use does not grow with the machine's core count
_TRANSPOSE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
              270: Image.Transpose.ROTATE_90}  # Pillow's ROTATE_n turns counterclockwise

NO_PICTURE = "No picture in this file could be decoded; it may be damaged or incomplete."
SINGLE_PICTURE = "This file holds a single picture, not a video."


@dataclass(frozen=True)
class Limits:
    max_width: int
    max_height: int
    max_fps: float
    max_duration_seconds: float


@dataclass(frozen=True)
class Facts:
    """What the headers say about the video stream, already checked against the limits."""

    kind: str
    stream: VideoStream
    audio_codec: str | None
    frame_rate: float
    duration: float  # of the whole file, seconds
    video_end: float  # where the video stream should end, seconds after its start
    start: float  # the video stream's first timestamp, seconds
    measured: bool  # the file declared no duration, so every packet was read to learn it


def check_size(width: int, height: int, limits: Limits, *, declared: bool = False) -> None:
    if width > limits.max_width or height > limits.max_height:
        said = "The file says its picture is" if declared else "The picture is"
        raise VideoRejected(
            "too_many_pixels",
            f"{said} {width} by {height} pixels; Porchlight accepts video up to "
            f"{limits.max_width} by {limits.max_height}.",
        )
    if not declared and (width <= 0 or height <= 0):
        raise VideoRejected("corrupt", "The video does not say how big its picture is.")


def inspect(container: InputContainer, kind: str, limits: Limits) -> Facts:
    """Check what the headers declare before decoding anything."""
    stream = _video_stream(container)
    check_size(stream.codec_context.width, stream.codec_context.height, limits)
    frame_rate = _frame_rate(stream, limits)
    audio_codec = _audio_codec(container)
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    duration = _declared_duration(container, stream)
    measured = duration is None
    if duration is None:
        duration = _measured_duration(container, stream, start, limits)
    _check_duration(duration, limits)
    video_end = float(stream.duration * stream.time_base) if stream.duration else duration
    return Facts(kind, stream, audio_codec, frame_rate, duration, video_end, start, measured)


def _video_stream(container: InputContainer) -> VideoStream:
    streams = [s for s in container.streams.video
               if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        heard = " It has sound but no picture." if container.streams.audio else ""
        raise VideoRejected("no_video_stream", f"This file holds no video.{heard}")
    stream = streams[0]
    stream.codec_context.thread_count = DECODER_THREADS
    codec = stream.codec_context.codec.canonical_name
    if codec not in VIDEO_CODECS:
        raise VideoRejected(
            "codec_not_allowed",
            f"This video is encoded as {codec}; Porchlight accepts H.264, H.265 (HEVC), VP9 "
            "and AV1. Most cameras can be set to record H.264.",
        )
    return stream


def _audio_codec(container: InputContainer) -> str | None:
    if not container.streams.audio:
        return None
    codec = container.streams.audio[0].codec_context.codec.canonical_name
    if codec not in AUDIO_CODECS:
        raise VideoRejected(
            "codec_not_allowed",
            f"The sound in this video is encoded as {codec}; Porchlight accepts AAC, Opus, "
            "MP3, Vorbis or FLAC sound, or no sound.",
        )
    return str(codec)


def _frame_rate(stream: VideoStream, limits: Limits) -> float:
    rate = stream.average_rate or stream.guessed_rate
    if not rate:
        raise VideoRejected("corrupt", "The video does not say how many frames it has a second.")
    if float(rate) > limits.max_fps:
        raise VideoRejected(
            "frame_rate_too_high",
            f"The video has {float(rate):.0f} frames a second; Porchlight accepts up to "
            f"{limits.max_fps:g}.",
        )
    return float(rate)


def _declared_duration(container: InputContainer, stream: VideoStream) -> float | None:
    if container.duration:
        return float(container.duration / AV_TIME_BASE)
    if stream.duration:
        return float(stream.duration * stream.time_base)
    return None


def _measured_duration(container: InputContainer, stream: VideoStream, start: float,
                       limits: Limits) -> float:
    """Streamed Matroska (a live recorder's, a browser's) declares no duration; read every
    packet's timestamp instead, stopping as soon as the limit is passed, then rewind."""
    end = _packets_end(container, stream, start, stop_after=limits.max_duration_seconds)
    if end is None:
        raise VideoRejected("corrupt", NO_PICTURE)
    container.seek(int(start * AV_TIME_BASE))
    return end


def _check_duration(seconds: float, limits: Limits) -> None:
    if seconds > limits.max_duration_seconds:
        raise VideoRejected(
            "too_long",
            f"The video lasts {_clock(seconds)}; Porchlight accepts clips up to "
            f"{_clock(limits.max_duration_seconds)}.",
        )


def _clock(seconds: float) -> str:
    whole = math.ceil(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _packets_end(container: InputContainer, stream: VideoStream, start: float,
                 stop_after: float | None = None) -> float | None:
    """Seconds after ``start`` where the last packet read from here on ends."""
    end: float | None = None
    for packet in container.demux(stream):
        if packet.size == 0 or packet.pts is None or packet.time_base is None:
            continue
        if packet.is_corrupt:
            raise VideoRejected("corrupt", INCOMPLETE)
        packet_end = float((packet.pts + (packet.duration or 0)) * packet.time_base) - start
        end = packet_end if end is None else max(end, packet_end)
        if stop_after is not None and end > stop_after:
            break
    return end


def probe(container: InputContainer, facts: Facts, limits: Limits) -> dict[str, Any]:
    """Decode the first frames and check the end is there; a good header is not enough."""
    first, count = _first_frames(container, facts.stream, limits)
    if count < 2:
        raise VideoRejected("not_a_video", SINGLE_PICTURE)
    if not facts.measured:
        _check_tail(container, facts)
    return {
        "container": facts.kind,
        "video_codec": str(facts.stream.codec_context.codec.canonical_name),
        "audio_codec": facts.audio_codec,
        "width": first.width,
        "height": first.height,
        "frame_rate": facts.frame_rate,
        "duration_seconds": facts.duration,
        "rotation": _clockwise(first),
    }


def _first_frames(container: InputContainer, stream: VideoStream,
                  limits: Limits) -> tuple[VideoFrame, int]:
    frames: list[VideoFrame] = []
    for frame in container.decode(stream):
        check_size(frame.width, frame.height, limits)
        frames.append(frame)
        if len(frames) == 2:
            break
    if not frames:
        raise VideoRejected("corrupt", NO_PICTURE)
    return frames[0], len(frames)


def _check_tail(container: InputContainer, facts: Facts) -> None:
    """Read the packets of the last seconds: a cut-off upload fails here.

    Demuxing without decoding keeps this cheap for an hour of footage, and it catches a
    file whose index points past its end even when its header and first frames are fine.
    """
    container.seek(int((facts.start + max(0.0, facts.video_end - 2.0)) * AV_TIME_BASE))
    end = _packets_end(container, facts.stream, facts.start)
    tolerance = min(2.0, 0.1 * facts.video_end) + 2.0 / facts.frame_rate
    if end is None or end < facts.video_end - tolerance:
        raise VideoRejected("corrupt", INCOMPLETE)


def _clockwise(frame: VideoFrame) -> int:
    """Degrees clockwise to turn the picture for display, from the display matrix.

    PyAV reports the matrix's counterclockwise angle; residents' phones and the
    VideoInfo contract speak clockwise, in quarter turns.
    """
    counterclockwise = float(frame.rotation or 0)
    if math.isnan(counterclockwise):
        return 0
    return round(-counterclockwise / 90) % 4 * 90


def poster(container: InputContainer, facts: Facts, limits: Limits, max_width: int) -> bytes:
    """A JPEG of the keyframe at or before one second in (the first frame of clips under
    two seconds).

    A keyframe is a picture the camera encoded whole, so it costs one frame to decode
    whatever the clip's keyframe interval; the exact frame at one second would mean
    decoding every frame from the keyframe before it (about 0.1 s of CPU per 1080p upload
    with a long interval). Cameras that start a keyframe every second get the frame at
    one second exactly; the rest get an earlier one, often the first.
    """
    target = 1.0 if facts.duration >= 2.0 else 0.0
    if target > 0:
        container.seek(int((facts.start + target) * AV_TIME_BASE))  # back to a keyframe
    for frame in container.decode(facts.stream):
        check_size(frame.width, frame.height, limits)
        return _jpeg(frame, _clockwise(frame), max_width)
    raise VideoRejected("corrupt", NO_PICTURE)


def _jpeg(frame: VideoFrame, rotation: int, max_width: int) -> bytes:
    """Scale (never up) to ``max_width`` keeping the displayed aspect, turn upright, encode."""
    quarter_turn = rotation in (90, 270)
    shown_width, shown_height = ((frame.height, frame.width) if quarter_turn
                                 else (frame.width, frame.height))
    out_width = min(max_width, shown_width)
    out_height = max(1, round(shown_height * out_width / shown_width))
    width, height = (out_height, out_width) if quarter_turn else (out_width, out_height)
    image = frame.reformat(width=width, height=height, format="rgb24").to_image()
    if rotation:
        image = image.transpose(_TRANSPOSE[rotation])
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82)
    return buffer.getvalue()
