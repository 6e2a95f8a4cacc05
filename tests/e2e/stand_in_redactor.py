"""A STAND-IN for the redaction engine, for the feed's tests only.

The real engine (face detection and blurring behind ``porchlight.redaction.services.ports
.Redactor``) is built in another branch and wired in ``bootstrap`` when it lands. This
double keeps the port's contract as far as the feed can tell — a playable video at the
target covering ``options.start``..``options.end``, a ``RedactionReport`` naming its
detector, ``RedactionFailed`` and no target when it cannot — by trimming with the
existing video tools. It blurs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from porchlight.kernel.services.ports import VideoTools
from porchlight.redaction.domain.options import RedactionOptions, RedactionReport
from porchlight.redaction.services.ports import Progress, RedactionFailed

DETECTOR = "stand-in"


class StandInRedactor:
    def __init__(self, video: VideoTools, *, fail: bool = False) -> None:
        self.video = video
        self.fail = fail
        self.calls: list[RedactionOptions] = []

    def redact(self, source: Path, target: Path, options: RedactionOptions,
               progress: Progress | None = None) -> RedactionReport:
        self.calls.append(options)
        if self.fail:
            raise RedactionFailed("the stand-in was told to fail")
        info = self.video.probe(source)
        start = options.start or 0.0
        end = options.end if options.end is not None else info.duration_seconds
        cut = self.video.trim(source, target, start, end)
        if progress is not None:
            progress(1, 1)
        return RedactionReport(frames=1, fps=cut.info.frame_rate, width=cut.info.width,
                               height=cut.info.height, detector=DETECTOR,
                               detector_version="stand-in 0 (no detection)",
                               engine_params={"stand_in": True})

    def snapshots(self, video: Path, frames: Sequence[int], width: int = 480) -> list[bytes]:
        return [self.video.poster(video, max_width=width) for _ in frames]
