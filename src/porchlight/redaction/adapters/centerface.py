"""CenterFace through onnxruntime: faces in a small RGB frame, as boxes with a score.

The model takes an RGB image (0-255, height and width multiples of 32) and answers, on a
grid four times coarser, a heatmap of face centres, the log of each face's size and the
centre's sub-cell offset. Candidates are the heatmap cells above a floor; overlapping
candidates are merged by non-maximum suppression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID = 4  # input pixels per output cell
NMS_IOU = 0.3


@dataclass(frozen=True)
class Detection:
    x0: float
    y0: float
    x1: float
    y1: float
    score: float


def detection_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """The small frame's size: ``target_width`` wide (never wider than the source), both
    sides rounded to a multiple of 32 as the model needs."""
    target = min(target_width, width)
    w = max(32, round(target / 32) * 32)
    h = max(32, round(height * target / width / 32) * 32)
    return w, h


class CenterFace:
    def __init__(self, session) -> None:  # an onnxruntime.InferenceSession
        self._session = session
        self._input = session.get_inputs()[0].name
        self._outputs = [each.name for each in session.get_outputs()[:3]]

    def detect(self, rgb: np.ndarray, scale_x: float, scale_y: float,
               floor: float) -> list[Detection]:
        """Faces in ``rgb`` (height, width, 3) scoring at least ``floor``, in the source's
        pixels (small-frame pixels times the scales), strongest first."""
        blob = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)
        heat, size, offset = self._session.run(self._outputs, {self._input: blob})
        rows, cols = np.nonzero(heat[0, 0] > floor)
        if rows.size == 0:
            return []
        scores = heat[0, 0, rows, cols]
        h = np.exp(size[0, 0, rows, cols]) * GRID
        w = np.exp(size[0, 1, rows, cols]) * GRID
        cy = (rows + offset[0, 0, rows, cols] + 0.5) * GRID
        cx = (cols + offset[0, 1, rows, cols] + 0.5) * GRID
        height, width = rgb.shape[:2]
        boxes = np.stack([
            np.clip(cx - w / 2, 0, width), np.clip(cy - h / 2, 0, height),
            np.clip(cx + w / 2, 0, width), np.clip(cy + h / 2, 0, height)], axis=1)
        keep = _suppress(boxes, scores)
        boxes *= np.array([scale_x, scale_y, scale_x, scale_y], dtype=np.float32)
        return [Detection(*(float(v) for v in boxes[i]), score=float(scores[i])) for i in keep]


def _suppress(boxes: np.ndarray, scores: np.ndarray) -> list[int]:
    """Greedy non-maximum suppression: the indices kept, strongest first."""
    order = list(np.argsort(-scores, kind="stable"))
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order:
        best, rest = order[0], np.array(order[1:], dtype=np.intp)
        keep.append(int(best))
        if rest.size == 0:
            break
        ix = np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0])
        iy = np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1])
        inter = np.clip(ix, 0, None) * np.clip(iy, 0, None)
        iou = inter / (areas[best] + areas[rest] - inter + 1e-6)
        order = list(rest[iou < NMS_IOU])
    return keep
