"""Reading the source: the part to keep, decoded to YUV 4:2:0, with a small RGB copy of
every keyframe for the detector, and the audio packets as they are."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from porchlight.redaction.adapters.centerface import Detection
from porchlight.redaction.adapters.stages import Pipe


@dataclass(frozen=True)
class Source:
    width: int  # even, as H.264 in 4:2:0 needs
    height: int
    rate: Fraction
    time_base: Fraction
    origin: int  # the video stream's first timestamp
    frames: int  # expected frames in the kept part (an estimate, for progress)


@dataclass
class VideoItem:
    index: int  # output frame index
    frame: av.VideoFrame
    time: float  # seconds from the start of the source
    small: np.ndarray | None = None  # RGB for the detector, on keyframes
    last: bool = False
    detections: list[Detection] | None = None


def describe(container: av.container.InputContainer, start: float | None,
             end: float | None) -> Source:
    video = container.streams.video[0]
    codec = video.codec_context
    rate = video.average_rate or video.guessed_rate or Fraction(30)
    base = video.time_base or Fraction(1, 90000)
    duration = _duration(container, video)
    kept = max(0.0, min(end if end is not None else duration, duration) - (start or 0.0))
    return Source(codec.width - codec.width % 2, codec.height - codec.height % 2,
                  Fraction(rate), Fraction(base), video.start_time or 0,
                  max(1, round(kept * rate)))


def _duration(container: av.container.InputContainer, video: av.video.stream.VideoStream,
              ) -> float:
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return float(video.frames / (video.average_rate or 30)) if video.frames else 0.0


class Reader:
    """Decodes the kept part into ``output``: VideoItems in order and audio packets."""

    def __init__(self, container: av.container.InputContainer, source: Source,
                 start: float | None, end: float | None, stride: int,
                 small_size: tuple[int, int], keep_audio: bool) -> None:
        self.container, self.source = container, source
        self.start, self.end = start or 0.0, end
        self.stride, self.small_size = stride, small_size
        self.video = container.streams.video[0]
        self.audio = (container.streams.audio[0]
                      if keep_audio and container.streams.audio else None)
        self.first_pts: int | None = None  # the first kept frame's timestamp

    def run(self, output: Pipe) -> None:
        self.video.thread_type = "AUTO"
        if self.start > 0:
            target = self.source.origin + int(self.start / self.source.time_base)
            self.container.seek(target, stream=self.video, backward=True)
        pending: VideoItem | None = None
        index, done = 0, False
        streams = [self.video] + ([self.audio] if self.audio is not None else [])
        for packet in self.container.demux(streams):
            if done:
                break
            if packet.stream.type == "audio":
                if packet.size and packet.pts is not None and self._audio_kept(packet):
                    output.put(packet)
                continue
            for frame in packet.decode():
                time = self._time(frame, index)
                if time < self.start - 1e-6:
                    continue
                if self.end is not None and time >= self.end - 1e-6:
                    done = True
                    break
                if pending is not None:
                    output.put(self._prepared(pending))
                pending = VideoItem(index, frame, time)
                index += 1
        if pending is None:
            raise av.error.InvalidDataError(0, "no video frames in the part to keep")
        pending.last = True
        output.put(self._prepared(pending))

    def _time(self, frame: av.VideoFrame, index: int) -> float:
        if frame.pts is None:
            return self.start + index / float(self.source.rate)
        return float((frame.pts - self.source.origin) * self.source.time_base)

    def _audio_kept(self, packet: av.Packet) -> bool:
        origin = packet.stream.start_time or 0
        time = float((packet.pts - origin) * packet.time_base)
        if self.start > 0 and time < self.start - 1e-6:
            return False  # (untrimmed, the encoder's priming packets before 0 stay)
        return self.end is None or time < self.end

    def _prepared(self, item: VideoItem) -> VideoItem:
        frame = item.frame
        if self.first_pts is None:
            self.first_pts = frame.pts if frame.pts is not None else 0
        width, height = self.source.width, self.source.height
        if frame.format.name != "yuv420p" or (frame.width, frame.height) != (width, height):
            converted = frame.reformat(width=width, height=height, format="yuv420p")
            converted.pts, converted.time_base = frame.pts, frame.time_base
            item.frame = converted
        if item.index % self.stride == 0 or item.last:
            w, h = self.small_size
            item.small = item.frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
        return item
