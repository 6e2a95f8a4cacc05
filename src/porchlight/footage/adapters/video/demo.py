"""Short, real H.264 demo clips made with PyAV, for the demo seed and the tests.

Real encoded footage (not a placeholder file) so the demo exercises the same probe,
poster, encryption and playback path as a camera's upload. The picture moves, so players
visibly advance and consecutive frames differ. This module encodes only our own pixels;
it never decodes anything, so it may run in the server process.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont


def make_demo_clip(
    path: Path,
    *,
    seconds: float = 4,
    width: int = 640,
    height: int = 360,
    fps: int = 15,
    seed: int = 0,
    label: str = "",
) -> Path:
    """Encode a ``seconds`` long H.264 MP4 at ``path`` (written whole, then renamed in place).

    ``seed`` picks the colours and the box's path, so different demo cameras look different.
    Width and height must be even (4:2:0 chroma).
    """
    if width % 2 or height % 2 or min(width, height, fps) <= 0 or seconds <= 0:
        raise ValueError("width and height must be positive and even; fps and seconds positive")
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    rng = random.Random(seed)  # noqa: S311  (picks colours, not secrets)
    painter = _Painter(width, height, fps, rng, label)
    with av.open(str(partial), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream(_h264_encoder(), rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if stream.codec_context.name == "libx264":
            stream.codec_context.options = {"preset": "ultrafast", "crf": "28"}
        for index in range(max(1, round(seconds * fps))):
            frame = av.VideoFrame.from_image(painter.frame(index))
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    os.replace(partial, path)
    return path


def _h264_encoder() -> str:
    """libx264 where PyAV's FFmpeg has it; otherwise any other H.264 encoder it has."""
    for name in ("libx264", "h264", "libopenh264"):
        if name in av.codecs_available:
            try:
                av.Codec(name, "w")
            except av.codec.codec.UnknownCodecError:
                continue
            return name
    raise RuntimeError("this PyAV build has no H.264 encoder")


class _Painter:
    """Draws frame ``index``: a gradient, a box moving across it, the label and the time."""

    BOX = 0.2  # the box's side as a share of the picture height

    def __init__(self, width: int, height: int, fps: int, rng: random.Random, label: str) -> None:
        self.fps, self.label = fps, label
        self.background = _gradient(width, height, rng)
        self.side = max(2, int(height * self.BOX))
        self.speed = (rng.uniform(0.15, 0.35) * width, rng.uniform(0.1, 0.3) * height)
        self.colour = tuple(rng.randrange(256) for _ in range(3))
        self.font = ImageFont.load_default(size=max(10, height // 16))

    def frame(self, index: int) -> Image.Image:
        image = self.background.copy()
        draw = ImageDraw.Draw(image)
        seconds = index / self.fps
        x = _bounce(seconds * self.speed[0], image.width - self.side)
        y = _bounce(seconds * self.speed[1], image.height - self.side)
        draw.rectangle((x, y, x + self.side, y + self.side), fill=self.colour)
        text = f"{self.label}  {seconds:5.2f} s".strip()
        draw.text((8, 8), text, fill=(255, 255, 255), font=self.font,
                  stroke_width=2, stroke_fill=(0, 0, 0))
        return image


def _gradient(width: int, height: int, rng: random.Random) -> Image.Image:
    ramp = Image.linear_gradient("L")
    red = ramp.rotate(90).resize((width, height))
    green = ramp.resize((width, height))
    blue = Image.new("L", (width, height), rng.randrange(64, 192))
    return Image.merge("RGB", (red, green, blue))


def _bounce(distance: float, span: int) -> int:
    """Position after travelling ``distance`` back and forth along ``span`` pixels."""
    if span <= 0:
        return 0
    position = int(distance) % (2 * span)
    return position if position < span else 2 * span - position
