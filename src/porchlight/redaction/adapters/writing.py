"""Writing the derived copy: H.264 (yuv420p) in an MP4 that starts playing at once
(``+faststart``), with the source's audio copied as it was, or re-encoded to AAC when the
source's audio codec cannot live in an MP4."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from porchlight.redaction.adapters.reading import Source

MP4_AUDIO = frozenset({"aac", "mp3", "ac3", "eac3", "opus", "flac", "alac"})


class Writer:
    def __init__(self, path: Path, source: Source, audio: av.audio.stream.AudioStream | None,
                 preset: str, crf: int) -> None:
        self.container = av.open(str(path), "w", format="mp4",
                                 options={"movflags": "+faststart"})
        video = self.container.add_stream("libx264", rate=source.rate)
        video.width, video.height, video.pix_fmt = source.width, source.height, "yuv420p"
        video.time_base = source.time_base
        video.options = {"preset": preset, "crf": str(crf)}
        self.video = video
        self.audio_in = audio
        self.audio_out = None
        self._resample = False
        if audio is not None:
            if audio.codec_context.name in MP4_AUDIO:
                self.audio_out = self.container.add_stream_from_template(audio)
            else:
                self.audio_out = self.container.add_stream("aac", rate=audio.rate or 48000)
                self._resample = True
        self.audio_shift: int | None = None  # in the audio's time base

    def video_frame(self, frame: av.VideoFrame, pts: int) -> None:
        frame.pts, frame.time_base = pts, self.video.time_base
        self.container.mux(self.video.encode(frame))

    def audio_packet(self, packet: av.Packet, start_time: float) -> None:
        """Copy (or re-encode) one source audio packet, shifted so the output starts at
        ``start_time`` seconds of the source's audio clock."""
        if self.audio_out is None or packet.pts is None:
            return
        if self.audio_shift is None:
            origin = packet.stream.start_time or 0
            self.audio_shift = origin + int(Fraction(start_time) / packet.time_base)
        if self._resample:
            for frame in packet.decode():
                frame.pts = None  # the encoder counts samples from the output's start
                self.container.mux(self.audio_out.encode(frame))
            return
        packet.pts -= self.audio_shift
        if packet.dts is not None:
            packet.dts -= self.audio_shift
        packet.stream = self.audio_out
        self.container.mux(packet)

    def close(self) -> None:
        self.container.mux(self.video.encode())
        if self._resample and self.audio_out is not None:
            self.container.mux(self.audio_out.encode())
        self.container.close()

    def abandon(self) -> None:
        try:
            self.container.close()
        except (av.FFmpegError, OSError, ValueError):
            return
