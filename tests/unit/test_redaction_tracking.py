"""Tracks between detection keyframes, and covering areas of YUV planes (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from porchlight.redaction.adapters.centerface import Detection, detection_size
from porchlight.redaction.adapters.pixels import redact
from porchlight.redaction.adapters.tracking import Box, Tracker
from porchlight.redaction.domain.options import Rect, Style


def face(x: float, y: float, size: float = 40, score: float = 0.9) -> Detection:
    return Detection(x, y, x + size, y + size, score)


def contains(outer: Box, x0: float, y0: float, x1: float, y1: float) -> bool:
    return outer.x0 <= x0 and outer.y0 <= y0 and outer.x1 >= x1 and outer.y1 >= y1


def test_a_moving_face_is_interpolated_between_keyframes():
    tracker = Tracker(threshold=0.2, floor=0.05, width=640)
    assert tracker.step(0, [face(100, 100)]) == {}
    covers = tracker.step(5, [face(150, 120)])
    assert sorted(covers) == [0, 1, 2, 3, 4]
    for frame, (cover,) in covers.items():
        x, y = 100 + 10 * frame, 100 + 4 * frame  # where the face really is
        assert cover.track == 1
        assert contains(cover.box, x, y, x + 40, y + 40)
    assert covers[0][0].detected and not covers[3][0].detected
    assert tracker.finish()[5][0].box == Box(150, 120, 190, 160)


def test_a_weak_detection_continues_a_track_but_starts_none():
    tracker = Tracker(threshold=0.2, floor=0.05, width=640)
    tracker.step(0, [face(100, 100), face(400, 300, score=0.1)])
    tracker.step(5, [face(104, 100, score=0.1)])
    assert list(tracker.alive) == [1]
    assert tracker.alive[1].detected and tracker.alive[1].score == pytest.approx(0.1)
    assert [f.frame for f in tracker.faint] == [0]  # the weak one nobody tracked


def test_a_lost_face_is_held_then_dropped_and_a_found_one_is_drawn_back():
    tracker = Tracker(threshold=0.2, floor=0.05, linger=2, width=640)
    tracker.step(0, [face(100, 100)])
    tracker.step(5, [])
    tracker.step(10, [])
    assert not tracker.alive[1].detected and tracker.alive[1].misses == 2
    covers = tracker.step(15, [face(300, 300)])
    assert 1 not in tracker.alive and list(tracker.alive) == [2]
    first = covers[10]  # the frame right after the last keyframe that held it
    assert {c.track for c in first} == {1, 2}
    found = next(c for c in first if c.track == 2)
    assert contains(found.box, 300, 300, 340, 340) and found.box.x1 - found.box.x0 > 40


def test_identifiers_follow_the_order_tracks_begin():
    def run() -> list[int]:
        tracker = Tracker(threshold=0.2, floor=0.05, width=640)
        tracker.step(0, [face(10, 10, score=0.5), face(300, 10, score=0.9)])
        tracker.step(5, [face(10, 10), face(300, 10), face(500, 300)])
        return sorted(tracker.alive)

    assert run() == run() == [1, 2, 3]


def test_detection_size_keeps_multiples_of_32():
    assert detection_size(1280, 720, 768) == (768, 448)
    assert detection_size(320, 240, 640) == (320, 256)


@pytest.mark.parametrize("style", list(Style))
def test_covering_changes_only_the_rect_and_flattens_its_detail(style):
    rng = np.random.default_rng(7)
    y = rng.integers(0, 256, (64, 96), dtype=np.uint8)
    u = rng.integers(0, 256, (32, 48), dtype=np.uint8)
    v = rng.integers(0, 256, (32, 48), dtype=np.uint8)
    planes = [y.copy(), u.copy(), v.copy()]
    redact(planes, [Rect(16, 8, 40, 32)], style)
    outside = np.ones_like(y, dtype=bool)
    outside[8:40, 16:56] = False
    assert (planes[0][outside] == y[outside]).all()
    assert planes[0][8:40, 16:56].std() < 0.5 * y[8:40, 16:56].std()
    assert not (planes[1][4:20, 8:28] == u[4:20, 8:28]).all()
    assert (planes[1][:4] == u[:4]).all()
