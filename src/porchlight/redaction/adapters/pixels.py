"""Blurring and pixelating areas of a YUV 4:2:0 frame in place, plane by plane.

Both styles first average the area over a coarse grid (six cells across its longer side
for blur, eight for pixelate, so no facial detail survives). Pixelate shows the cells as
blocks; blur spreads them smoothly with a quadratic B-spline (two small matrix
products), which looks like a strong blur at a fraction of a Gaussian's cost. Working on
the Y, U and V planes directly avoids converting whole frames to RGB and back.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from porchlight.redaction.domain.options import Rect, Style

CELLS = {Style.BLUR: 6, Style.PIXELATE: 8}  # grid cells along an area's longer side


def planes(frame) -> list[np.ndarray]:  # frame: av.VideoFrame, yuv420p and writable
    """Writable views of the frame's Y, U and V planes (line padding cut off)."""
    views = []
    for plane in frame.planes:
        data = np.frombuffer(plane, dtype=np.uint8)
        views.append(data.reshape(plane.height, plane.line_size)[:, :plane.width])
    return views


def redact(planes_yuv: list[np.ndarray], rects: list[Rect], style: Style) -> None:
    """Cover every rect (even coordinates, inside the frame) in all three planes."""
    luma, *chroma = planes_yuv
    for rect in rects:
        _cover(luma[rect.y:rect.y + rect.h, rect.x:rect.x + rect.w], style)
        x, y, w, h = rect.x // 2, rect.y // 2, max(1, rect.w // 2), max(1, rect.h // 2)
        for plane in chroma:
            _cover(plane[y:y + h, x:x + w], style)


def _cover(area: np.ndarray, style: Style) -> None:
    h, w = area.shape
    if h == 0 or w == 0:
        return
    cell = max(1, -(-max(h, w) // CELLS[style]))
    rows, cols = -(-h // cell), -(-w // cell)
    means = _block_means(area, cell, rows, cols)
    if style is Style.PIXELATE:
        out = np.repeat(np.repeat(means, cell, axis=0)[:h], cell, axis=1)[:, :w]
    else:
        out = _spread(h, rows) @ means @ _spread(w, cols).T
    area[...] = np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _block_means(area: np.ndarray, cell: int, rows: int, cols: int) -> np.ndarray:
    starts_y = np.arange(0, rows) * cell
    starts_x = np.arange(0, cols) * cell
    sums = np.add.reduceat(np.add.reduceat(area.astype(np.float32), starts_y, axis=0),
                           starts_x, axis=1)
    counts_y = np.minimum(cell, area.shape[0] - starts_y).astype(np.float32)
    counts_x = np.minimum(cell, area.shape[1] - starts_x).astype(np.float32)
    return sums / counts_y[:, None] / counts_x[None, :]


@lru_cache(maxsize=512)
def _spread(size: int, cells: int) -> np.ndarray:
    """A (size, cells) matrix spreading cell values smoothly onto ``size`` pixels: a
    quadratic B-spline, so the surface has no kinks where an edge could show through."""
    centres = (np.arange(size, dtype=np.float32) + 0.5) * cells / size - 0.5
    nearest = np.rint(centres).astype(np.intp)
    u = centres - nearest
    weights = (0.5 * (0.5 - u) ** 2, 0.75 - u * u, 0.5 * (0.5 + u) ** 2)
    matrix = np.zeros((size, cells), dtype=np.float32)
    rows = np.arange(size)
    for offset, weight in zip((-1, 0, 1), weights, strict=True):
        np.add.at(matrix, (rows, np.clip(nearest + offset, 0, cells - 1)), weight)
    return matrix
