"""A synthetic clip of moving faces with the true face box of every frame.

The faces are photographs that ship inside scikit-image (the astronaut Eileen Collins and
the cameraman), pasted over a textured background (bricks, gravel, grass from the same
package) at face heights between 40 and 200 pixels, each moving on its own smooth path in
its own half of the picture. The bench imports this module too (it adds the repository
root to ``sys.path``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageFilter


@dataclass(frozen=True)
class Face:
    name: str
    image: np.ndarray  # RGB, the whole photograph
    box: tuple[int, int, int, int]  # x, y, w, h of the face in the photograph


@dataclass(frozen=True)
class FaceBox:
    name: str
    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h


def faces() -> list[Face]:
    """The two human faces among scikit-image's sample images, boxed by hand."""
    from skimage import data

    camera = data.camera()
    return [
        Face("astronaut", data.astronaut(), (182, 62, 86, 114)),
        Face("cameraman", np.stack([camera] * 3, axis=-1), (204, 120, 52, 76)),
    ]


def background(width: int, height: int) -> np.ndarray:
    """Bricks, gravel and grass in bands, tiled to the frame: detail everywhere."""
    from skimage import data

    bands = [data.brick(), data.gravel(), data.grass()]
    band_w = -(-width // len(bands))
    columns = []
    for band in bands:
        tile = np.asarray(band, dtype=np.uint8)
        reps = (-(-height // tile.shape[0]), -(-band_w // tile.shape[1]))
        columns.append(np.tile(tile, reps)[:height, :band_w])
    gray = np.concatenate(columns, axis=1)[:, :width]
    tint = np.array([0.9, 0.8, 0.7], dtype=np.float32)
    return (gray[..., None].astype(np.float32) * tint + 20).clip(0, 255).astype(np.uint8)


class FaceScene:
    """Where each face is at frame ``i``: a smooth path and a size that swells and shrinks."""

    PATCH_MARGIN = 0.35  # the pasted patch shows this much of the head around the face

    def __init__(self, width: int, height: int, fps: int, min_size: int = 40,
                 max_size: int = 200, pace: float = 1.0) -> None:
        self.width, self.height, self.fps, self.pace = width, height, fps, pace
        self.min_size, self.max_size = min_size, min(max_size, int(height / 1.8))
        self.faces = faces()
        self.back = background(width, height)
        self._patches: dict[tuple[str, int], tuple[np.ndarray, FaceBox]] = {}

    def boxes(self, index: int) -> list[FaceBox]:
        t = index / self.fps * self.pace
        out = []
        for k, face in enumerate(self.faces):
            phase = 1.7 * k
            swell = 0.5 + 0.5 * math.sin(2 * math.pi * t / (5.0 + 2 * k) + phase)
            h = round(self.min_size + (self.max_size - self.min_size) * swell)
            _fx, _fy, fw, fh = face.box
            w = round(h * fw / fh)
            half = self.width / 2
            pad = h * (1 + 2 * self.PATCH_MARGIN) / 2
            lo_x, hi_x = k * half + pad, (k + 1) * half - pad
            lo_y, hi_y = pad, self.height - pad
            sx = 0.5 + 0.5 * math.sin(2 * math.pi * t / (6.0 - k) + phase)
            sy = 0.5 + 0.5 * math.sin(2 * math.pi * t / (4.0 + k) + 2 * phase)
            cx = lo_x + (hi_x - lo_x) * sx if hi_x > lo_x else (lo_x + hi_x) / 2
            cy = lo_y + (hi_y - lo_y) * sy if hi_y > lo_y else (lo_y + hi_y) / 2
            out.append(FaceBox(face.name, round(cx - w / 2), round(cy - h / 2), w, h))
        return out

    def frame(self, index: int) -> tuple[np.ndarray, list[FaceBox]]:
        picture = self.back.copy()
        boxes = self.boxes(index)
        for face, box in zip(self.faces, boxes, strict=True):
            patch, inner = self._patch(face, box.h)
            x0, y0 = box.x - inner.x, box.y - inner.y
            ph, pw = patch.shape[:2]
            cx0, cy0 = max(0, x0), max(0, y0)
            cx1, cy1 = min(self.width, x0 + pw), min(self.height, y0 + ph)
            picture[cy0:cy1, cx0:cx1] = patch[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
        return picture, boxes

    def _patch(self, face: Face, height: int) -> tuple[np.ndarray, FaceBox]:
        """The face with some head around it, scaled so the face is ``height`` tall; the
        returned box is the face inside the patch."""
        key = (face.name, height)
        if key not in self._patches:
            fx, fy, fw, fh = face.box
            m = self.PATCH_MARGIN
            img_h, img_w = face.image.shape[:2]
            x0, y0 = max(0, round(fx - m * fh)), max(0, round(fy - m * fh))
            x1, y1 = min(img_w, round(fx + fw + m * fh)), min(img_h, round(fy + fh + m * fh))
            scale = height / fh
            size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
            crop = Image.fromarray(face.image[y0:y1, x0:x1]).resize(size, Image.LANCZOS)
            inner = FaceBox(face.name, round((fx - x0) * scale), round((fy - y0) * scale),
                            round(fw * scale), height)
            self._patches[key] = (np.asarray(crop), inner)
        return self._patches[key]


def write_clip(path: Path, width: int, height: int, seconds: float, fps: int = 30,
               audio: bool = False, crf: int = 16, pace: float = 1.0) -> list[list[FaceBox]]:
    """Encode the scene as H.264 (and a 440 Hz AAC tone when ``audio``); return the true
    face boxes of every frame. ``pace`` speeds the scene up (faces move and change size
    faster), so a short clip still goes through all the sizes."""
    scene = FaceScene(width, height, fps, pace=pace)
    count = round(seconds * fps)
    truth = []
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": str(crf), "preset": "ultrafast"}
        tone = _add_tone(out) if audio else None
        for i in range(count):
            picture, boxes = scene.frame(i)
            truth.append(boxes)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if tone is not None:
            for packet in _tone_packets(tone, seconds):
                out.mux(packet)
    return truth


def _add_tone(out: av.container.OutputContainer) -> av.audio.stream.AudioStream:
    stream = out.add_stream("aac", rate=48000)
    stream.layout = "mono"
    return stream


def _tone_packets(stream: av.audio.stream.AudioStream, seconds: float) -> Iterator[av.Packet]:
    rate, size = 48000, 1024
    for start in range(0, round(seconds * rate), size):
        t = (np.arange(start, start + size) / rate).astype(np.float32)
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
        frame.sample_rate, frame.pts = rate, start
        frame.time_base = Fraction(1, rate)
        yield from stream.encode(frame)
    yield from stream.encode()


def luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.float32)


def _high_pass(gray: np.ndarray) -> np.ndarray:
    smooth = Image.fromarray(gray.clip(0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(1.5))
    return gray - np.asarray(smooth, dtype=np.float32)


def redacted_fraction(before: np.ndarray, after: np.ndarray, box: FaceBox,
                      cell: int = 8) -> float:
    """The share of the face's detailed area whose fine detail is gone from ``after``.

    Both frames are luma arrays. The box is cut into cells; a cell counts when the source
    has detail there, and is redacted when the output's fine detail is mostly gone (under
    a quarter of the source's energy) or no longer follows the source's (correlation of
    their high-pass images below one half). A compressed but untouched face keeps most of
    its detail with a correlation near 1; a blurred one loses the detail, a pixelated one
    gets block edges unrelated to the face.
    """
    height, width = before.shape
    x0, y0 = max(0, box.x), max(0, box.y)
    x1, y1 = min(width, box.x + box.w), min(height, box.y + box.h)
    if x1 - x0 < cell or y1 - y0 < cell:
        return 1.0
    hp_in = _high_pass(before[y0:y1, x0:x1])
    hp_out = _high_pass(after[y0:y1, x0:x1])
    rows, cols = (y1 - y0) // cell, (x1 - x0) // cell
    shape = (rows, cell, cols, cell)
    a = hp_in[:rows * cell, :cols * cell].reshape(shape).transpose(0, 2, 1, 3)
    b = hp_out[:rows * cell, :cols * cell].reshape(shape).transpose(0, 2, 1, 3)
    a = a.reshape(rows, cols, -1)
    b = b.reshape(rows, cols, -1)
    energy_a = (a * a).mean(axis=2)
    energy_b = (b * b).mean(axis=2)
    detailed = energy_a > 16.0  # below, x264's own smoothing could pass for redaction
    if not detailed.any():
        return 1.0
    corr = (a * b).mean(axis=2) / np.sqrt(energy_a * energy_b + 1e-6)
    gone = (corr < 0.5) | (energy_b < 0.25 * energy_a)
    return float(gone[detailed].mean())
