"""Face tracks between detection keyframes.

The detector runs on every ``stride``-th frame (a keyframe) and on the last one. A track
links a face's detections from keyframe to keyframe; the frames in between get the box
interpolated between the two ends, enlarged by the motion between them so a face on a
curved path stays covered. Hysteresis: a new track needs the full threshold, an existing
track continues on a weaker detection (down to the floor). A track the detector loses is
held (moved at its last speed, growing) for ``linger`` keyframes before it ends; a track
that appears is also drawn, growing, back to the previous keyframe, since the face was
most likely there already and missed. Identifiers count up in the order tracks begin, so
the same detections always give the same identifiers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from porchlight.redaction.adapters.centerface import Detection

MOTION_PAD = 0.25  # interpolated boxes grow on every side by this share of the motion
HELD_GROWTH = 0.5  # a held box grows on every side by this share of its size per interval
MATCH_DISTANCE = 1.0  # centres at most this many face sizes apart can be the same face
WEAK_MATCH_DISTANCE = 0.5  # ... and this many when the detection is below the threshold
MOST_GROWTH = 3.0  # a box never grows past this many times its face's last detected size
MATCH_SPEED = 0.04  # or this share of the frame's width per frame (small, fast faces)


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    @property
    def size(self) -> float:
        return max(self.x1 - self.x0, self.y1 - self.y0, 1.0)

    def moved(self, dx: float, dy: float) -> Box:
        return Box(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)

    def grown(self, share: float, pixels: float = 0.0) -> Box:
        """Larger on every side by ``share`` of its width/height plus ``pixels``."""
        gx = share * (self.x1 - self.x0) + pixels
        gy = share * (self.y1 - self.y0) + pixels
        return Box(self.x0 - gx, self.y0 - gy, self.x1 + gx, self.y1 + gy)

    def union(self, other: Box) -> Box:
        return Box(min(self.x0, other.x0), min(self.y0, other.y0),
                   max(self.x1, other.x1), max(self.y1, other.y1))

    def capped(self, face: Box) -> Box:
        """At most MOST_GROWTH times ``face``'s width and height, around its own centre."""
        (cx, cy), w, h = self.center, self.x1 - self.x0, self.y1 - self.y0
        w = min(w, MOST_GROWTH * (face.x1 - face.x0))
        h = min(h, MOST_GROWTH * (face.y1 - face.y0))
        return Box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)

    def toward(self, other: Box, u: float) -> Box:
        return Box(*(a + (b - a) * u for a, b in zip(
            (self.x0, self.y0, self.x1, self.y1), (other.x0, other.y0, other.x1, other.y1),
            strict=True)))


@dataclass(frozen=True)
class TrackState:
    id: int
    box: Box  # what is covered at the keyframe
    face: Box  # where the face is (or is predicted) at the keyframe
    score: float
    detected: bool
    velocity: tuple[float, float] = (0.0, 0.0)  # pixels per frame
    misses: int = 0


@dataclass(frozen=True)
class Cover:
    """One track's box on one frame."""

    track: int
    box: Box
    score: float
    detected: bool


@dataclass(frozen=True)
class Faint:
    """A candidate below the threshold that no track took: left uncovered, reported."""

    frame: int
    score: float


class Tracker:
    def __init__(self, threshold: float, floor: float, linger: int = 2,
                 width: int = 1280) -> None:
        self.threshold, self.floor, self.linger = threshold, floor, linger
        self.width = width
        self.alive: dict[int, TrackState] = {}
        self.key: int | None = None
        self.faint: list[Faint] = []
        self._next_id = 1

    def step(self, key: int, detections: Sequence[Detection]) -> dict[int, list[Cover]]:
        """Take keyframe ``key``'s detections; return the covers of every frame from the
        previous keyframe up to (not including) ``key``."""
        previous, before = self.key, self.alive
        frames = key - previous if previous is not None else 0
        after = self._advance(key, detections, frames)
        covers = {}
        if previous is not None:
            for f in range(previous, key):
                covers[f] = _between(before, after, f - previous, frames)
        self.key, self.alive = key, after
        return covers

    def finish(self) -> dict[int, list[Cover]]:
        """The covers of the last keyframe itself."""
        if self.key is None:
            return {}
        return {self.key: [Cover(t.id, t.box, t.score, t.detected)
                           for t in self.alive.values()]}

    def _advance(self, key: int, detections: Sequence[Detection],
                 frames: int) -> dict[int, TrackState]:
        candidates = [d for d in detections if d.score >= self.floor]
        predicted = {i: t.face.moved(t.velocity[0] * frames, t.velocity[1] * frames)
                     for i, t in self.alive.items()}
        pairs = _match(predicted, candidates, self.threshold,
                       MATCH_SPEED * self.width * max(frames, 1))
        after: dict[int, TrackState] = {}
        for track_id, k in pairs.items():
            after[track_id] = self._continued(self.alive[track_id], candidates[k], frames,
                                              predicted[track_id])
        for track_id, track in self.alive.items():
            if track_id not in pairs and track.misses < self.linger:
                face = predicted[track_id]
                box = face.grown(HELD_GROWTH / 2 * (track.misses + 1)).capped(face)
                after[track_id] = replace(track, box=box, face=face, detected=False,
                                          misses=track.misses + 1)
        taken = set(pairs.values())
        for k, det in enumerate(candidates):
            if k in taken:
                continue
            if det.score >= self.threshold:
                after[self._next_id] = TrackState(self._next_id, _box(det), _box(det),
                                                  det.score, True)
                self._next_id += 1
            elif not any(_inside(_box(det).center, t.box) for t in after.values()):
                self.faint.append(Faint(key, det.score))
        return after

    def _continued(self, track: TrackState, det: Detection, frames: int,
                   predicted: Box) -> TrackState:
        """The track on its new detection; on a weak one (below the threshold, maybe
        another thing) the box covers both the detection and where the face was heading."""
        face = box = _box(det)
        if det.score < self.threshold:
            box = face.union(predicted).capped(_larger(face, track.face))
        (ax, ay), (bx, by) = track.face.center, face.center
        velocity = ((bx - ax) / frames, (by - ay) / frames) if frames else (0.0, 0.0)
        return TrackState(track.id, box, face, det.score, True, velocity)


def _box(det: Detection) -> Box:
    return Box(det.x0, det.y0, det.x1, det.y1)


def _larger(a: Box, b: Box) -> Box:
    """A box as wide as the wider and as tall as the taller (for its size only)."""
    return Box(0.0, 0.0, max(a.x1 - a.x0, b.x1 - b.x0), max(a.y1 - a.y0, b.y1 - b.y0))


def _inside(point: tuple[float, float], box: Box) -> bool:
    return box.x0 <= point[0] <= box.x1 and box.y0 <= point[1] <= box.y1


def _match(predicted: dict[int, Box], candidates: Sequence[Detection], threshold: float,
           travel: float) -> dict[int, int]:
    """Greedy matching, closest pairs first: track id -> candidate index. A candidate is
    in reach within a face size or ``travel`` pixels (halved for weak candidates)."""
    options = []
    for track_id, box in predicted.items():
        (px, py), size = box.center, box.size
        for k, det in enumerate(candidates):
            other = _box(det)
            ratio = other.size / size
            if not 0.5 <= ratio <= 2.0:
                continue
            (cx, cy) = other.center
            distance = math.hypot(cx - px, cy - py)
            reach = max(MATCH_DISTANCE * max(size, other.size), travel)
            if det.score < threshold:
                reach *= WEAK_MATCH_DISTANCE / MATCH_DISTANCE
            if distance <= reach:
                options.append((distance, track_id, k))
    options.sort()
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for _, track_id, k in options:
        if track_id not in pairs and k not in used:
            pairs[track_id] = k
            used.add(k)
    return pairs


def _between(before: dict[int, TrackState], after: dict[int, TrackState],
             offset: int, frames: int) -> list[Cover]:
    """Every track's box ``offset`` frames after a keyframe, ``frames`` before the next."""
    u = offset / frames
    covers = []
    for track_id in sorted(before.keys() | after.keys()):
        start, end = before.get(track_id), after.get(track_id)
        if start is not None and end is not None:
            (ax, ay), (bx, by) = start.box.center, end.box.center
            pad = MOTION_PAD * math.hypot(bx - ax, by - ay) if u > 0 else 0.0
            box = start.box.toward(end.box, u).grown(0.0, pad).capped(
                start.face.union(end.face))
            score = min(start.score, end.score)
            detected = u == 0 and start.detected
        elif start is not None:  # lost at the next keyframe: keep going, growing
            vx, vy = start.velocity
            box = start.box.moved(vx * offset, vy * offset).grown(HELD_GROWTH * u).capped(
                start.face)
            score, detected = start.score, u == 0 and start.detected
        else:  # found at the next keyframe: most likely there before, missed
            found = after[track_id]
            box = found.box.grown(HELD_GROWTH * (1 - u)).capped(found.face)
            score, detected = found.score, False
        covers.append(Cover(track_id, box, score, detected))
    return covers
