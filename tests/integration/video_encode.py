"""Synthetic footage for the video tests, encoded in this process with PyAV.

PyAV's wheels carry their own FFmpeg with libx264, libx265, libvpx, SVT-AV1, Opus and LAME,
so no system tool is needed. The picture is our own drawing and a pure function of its size
and frame number — colour ramps, a band of random bars scrolling across and a bouncing
box — so encoders and decoders do real work, and a test can compare a decoded frame with
the exact picture that was encoded.
"""

from __future__ import annotations

import array
import functools
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageChops, ImageDraw

SAMPLE_RATE = 48_000
GREY = (128, 128, 128)

# Fast settings, so a session's corpus takes seconds; FFmpeg's defaults otherwise.
SPEED: dict[str, dict[str, str]] = {
    "libx264": {"preset": "ultrafast"},
    "libx265": {"preset": "ultrafast", "x265-params": "log-level=error"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"},
    "libsvtav1": {"preset": "11"},
    "libaom-av1": {"cpu-used": "8", "usage": "realtime"},
}


@dataclass(frozen=True)
class Clip:
    """One file to write: its picture and sound, encoders, and muxer."""

    path: Path
    size: tuple[int, int] | None = (320, 240)  # None: sound only
    seconds: float = 1.0
    rate: int = 15
    video: str = "libx264"
    audio: str | None = None
    container: str | None = None  # the muxer; None: FFmpeg's guess from the file name
    muxer: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)  # the video encoder's, on SPEED
    gop: int | None = None  # frames from one keyframe to the next
    b_frames: int | None = None
    bit_rate: int | None = None
    tag: str | None = None  # the sample entry's four letters, e.g. "hvc1"
    flat: bool = False  # a plain grey picture: large in pixels, tiny in bytes
    grain: int = 0  # sensor noise's standard deviation, as a small sensor records at dusk

    @property
    def frame_count(self) -> int:
        return max(1, round(self.seconds * self.rate))


def encode(clip: Clip) -> Path:
    """Write ``clip``: video frame by frame, each followed by the sound up to its end."""
    with av.open(str(clip.path), "w", format=clip.container, options=dict(clip.muxer)) as out:
        video = _video_stream(out, clip) if clip.size else None
        sound = out.add_stream(clip.audio, rate=SAMPLE_RATE) if clip.audio else None
        written = 0
        for index in range(clip.frame_count):
            if video is not None:
                out.mux(video.encode(_frame(clip, index)))
            if sound is not None:
                due = (index + 1) * SAMPLE_RATE // clip.rate
                out.mux(sound.encode(tone(written, due)))
                written = due
        for stream in (video, sound):
            if stream is not None:
                out.mux(stream.encode(None))
    return clip.path


def _video_stream(out: av.container.OutputContainer, clip: Clip) -> av.VideoStream:
    assert clip.size is not None
    stream = out.add_stream(clip.video, rate=clip.rate)
    stream.width, stream.height = clip.size
    stream.pix_fmt = "yuv420p"
    context = stream.codec_context
    if clip.gop is not None:
        context.gop_size = clip.gop
    if clip.b_frames is not None:
        context.max_b_frames = clip.b_frames
    if clip.bit_rate is not None:
        context.bit_rate = clip.bit_rate
    if clip.tag is not None:
        context.codec_tag = clip.tag
    context.options = {**SPEED.get(clip.video, {}), **clip.options}
    return stream


def _frame(clip: Clip, index: int) -> av.VideoFrame:
    size = clip.size
    assert size is not None
    image = Image.new("RGB", size, GREY) if clip.flat else picture(size, index, clip.rate)
    if clip.grain:
        noise = _noise(size, clip.grain)
        image = ImageChops.add(image, noise[index % len(noise)], offset=-128)
    frame = av.VideoFrame.from_image(image)
    frame.pts, frame.time_base = index, Fraction(1, clip.rate)
    return frame


# --- the picture -------------------------------------------------------------------------------


def picture(size: tuple[int, int], index: int, rate: int = 15) -> Image.Image:
    """Frame ``index``: still ramps, a band of bars moving right by a fifth of the width a
    second, and a box bouncing around. Nothing in it is symmetric under a half turn."""
    width, height = size
    ramps, bars = _backdrop(width, height)
    image = ramps.copy()
    shift = round(index * width / (5 * rate)) % (bars.width - width)
    image.paste(bars.crop((bars.width - width - shift, 0, bars.width - shift, bars.height)),
                (0, height // 3))
    side = max(2, height // 6)
    x = _bounce(index * 0.3 * width / rate, width - side)
    y = _bounce(index * 0.2 * height / rate, height - side)
    ImageDraw.Draw(image).rectangle((x, y, x + side, y + side), fill=(250, 240, 40))
    return image


@functools.lru_cache(maxsize=16)
def _backdrop(width: int, height: int) -> tuple[Image.Image, Image.Image]:
    """Red rising left to right and green top to bottom; a strip of random bars three
    pictures wide and a third of one high."""
    ramp = Image.linear_gradient("L")
    red = ramp.rotate(90).resize((width, height))
    green = ramp.resize((width, height))
    ramps = Image.merge("RGB", (red, green, Image.new("L", (width, height), 96)))
    bars = Image.new("RGB", (3 * width, max(1, height // 3)))
    draw, rng = ImageDraw.Draw(bars), random.Random(width * 10_000 + height)
    left = 0
    while left < bars.width:
        step = rng.randint(max(2, width // 48), max(3, width // 12))
        draw.rectangle((left, 0, left + step, bars.height),
                       fill=tuple(rng.randrange(256) for _ in range(3)))
        left += step
    return ramps, bars


@functools.lru_cache(maxsize=2)
def _noise(size: tuple[int, int], sigma: int) -> tuple[Image.Image, ...]:
    """Seven pictures of grey Gaussian noise around 128, used in turn."""
    return tuple(Image.effect_noise(size, sigma).convert("RGB") for _ in range(7))


def _bounce(distance: float, span: int) -> int:
    """Position after travelling ``distance`` back and forth along ``span`` pixels."""
    if span <= 0:
        return 0
    position = int(distance) % (2 * span)
    return position if position < span else 2 * span - position


# --- the sound ---------------------------------------------------------------------------------


def tone(start: int, end: int) -> av.AudioFrame:
    """Samples ``start`` to ``end`` of a 440 Hz sine, mono, 16-bit, at 48 kHz."""
    second = _one_second_of_tone()  # 440 whole periods: it repeats seamlessly
    offset = start % SAMPLE_RATE
    samples = (second * ((offset + end - start) // SAMPLE_RATE + 1))[offset : offset + end - start]
    frame = av.AudioFrame(format="s16", layout="mono", samples=end - start)
    frame.planes[0].update(samples.tobytes())
    frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, start, Fraction(1, SAMPLE_RATE)
    return frame


@functools.cache
def _one_second_of_tone() -> array.array[int]:
    return array.array("h", (round(8000 * math.sin(2 * math.pi * 440 * n / SAMPLE_RATE))
                             for n in range(SAMPLE_RATE)))


def encoder_available(name: str) -> bool:
    """Whether PyAV's FFmpeg can open ``name`` for encoding."""
    try:
        av.Codec(name, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        return False
    return True

