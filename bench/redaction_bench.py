"""Face redaction: Porchlight's engine against the `deface` command line (issue 17).

In one run, on the same synthetic clips (tests/integration/faces_clip.py: two real faces
from scikit-image moving over a textured background at 40 to 200 pixels, with the true
face box of every frame), at 720p and 1080p:

- ``PyAV decode + encode``: the source decoded and encoded again with the engine's encoder
  settings and nothing covered: the limit any redaction on this machine works under.
- ``Porchlight``: ``bootstrap.build_redactor`` with the default settings (model loaded
  before the clock starts; its load is reported apart).
- ``deface`` and ``deface --scale 640x360``: the command as installed, timed as a whole
  (its start and model load included, a second or two).

Recall is measured the same way for every tool, from the pixels: the share of the true
face area whose fine detail is gone in the output (faces_clip.redacted_fraction), weighted
by area; "frames >= 95%" is the share of face-frames covered at least that well. The plain
transcode's "recall" shows the measure's noise floor.

The bench installs nothing. Without ``--deface`` the deface rows are left out; to get it:

    python3 -m venv /tmp/deface-venv && /tmp/deface-venv/bin/pip install deface onnxruntime
    .venv/bin/python bench/redaction_bench.py --deface /tmp/deface-venv/bin/deface \\
        [--seconds 10] [--results bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
from tests.integration import faces_clip  # noqa: E402

from bench.results import machine_lines, replace_section  # noqa: E402
from porchlight import bootstrap  # noqa: E402
from porchlight.config import Settings  # noqa: E402
from porchlight.redaction.domain.options import RedactionOptions  # noqa: E402

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
FPS = 30


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def timed(work: Callable[[], None]) -> dict[str, float]:
    load_before = os.getloadavg()[0]
    cpu, wall = cpu_seconds(), time.perf_counter()
    work()
    return {"wall": time.perf_counter() - wall, "cpu": cpu_seconds() - cpu,
            "load": max(load_before, os.getloadavg()[0])}


def transcode(source: Path, target: Path, settings: Settings) -> None:
    """Decode and encode again, nothing covered: the engine's encoder settings."""
    with av.open(str(source)) as original, av.open(
            str(target), "w", options={"movflags": "+faststart"}) as out:
        video = original.streams.video[0]
        video.thread_type = "AUTO"
        stream = out.add_stream("libx264", rate=video.average_rate)
        stream.width, stream.height, stream.pix_fmt = video.width, video.height, "yuv420p"
        stream.time_base = video.time_base
        stream.options = {"preset": settings.redaction.x264_preset,
                          "crf": str(settings.redaction.crf)}
        for frame in original.decode(video):
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def deface(command: str, extra: list[str]) -> Callable[[Path, Path], None]:
    def run(source: Path, target: Path) -> None:
        subprocess.run([command, str(source), "-o", str(target), *extra], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return run


def recall(source: Path, output: Path, truth: list[list[faces_clip.FaceBox]]) -> dict:
    """Area-weighted share of true face area whose detail is gone, the share of
    face-frames at least 95% covered, and the worst face-frame."""
    covered = total = 0.0
    fractions = []
    with av.open(str(source)) as a, av.open(str(output)) as b:
        frames = zip(a.decode(video=0), b.decode(video=0), truth, strict=False)
        for before, after, faces in frames:
            la = before.to_ndarray(format="gray").astype(np.float32)
            lb = after.to_ndarray(format="gray").astype(np.float32)
            for face in faces:
                share = faces_clip.redacted_fraction(la, lb, face)
                covered += share * face.area
                total += face.area
                fractions.append(share)
    return {"recall": covered / total, "frames95": float(np.mean(np.array(fractions) >= 0.95)),
            "worst": min(fractions), "compared": len(fractions)}


def measure_size(name: str, folder: Path, seconds: float, deface_command: str | None,
                 settings: Settings, redactor) -> list[dict]:
    width, height = SIZES[name]
    source = folder / f"faces-{name}.mp4"
    truth = faces_clip.write_clip(source, width, height, seconds, FPS, crf=18)
    frames = len(truth)
    tools: list[tuple[str, Callable[[Path, Path], None]]] = [
        ("PyAV decode + encode (the limit)", lambda s, t: transcode(s, t, settings)),
        ("Porchlight", lambda s, t: redactor.redact(s, t, RedactionOptions())),
    ]
    if deface_command:
        tools += [("deface (defaults)", deface(deface_command, [])),
                  ("deface --scale 640x360", deface(deface_command, ["--scale", "640x360"]))]
    rows = []
    for tool, run in tools:
        target = folder / f"{name}-{len(rows)}.mp4"
        figures = timed(lambda run=run, target=target: run(source, target))
        figures.update(recall(source, target, truth))
        figures.update(tool=tool, size=name, fps=frames / figures["wall"],
                       cpu_per_frame=figures["cpu"] / frames)
        print(f"{name} {tool}: {figures['fps']:.1f} fps, recall {figures['recall']:.3f}, "
              f"load {figures['load']:.1f}", flush=True)
        rows.append(figures)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--deface", help="the deface command (see this file's docstring)")
    parser.add_argument("--sizes", default="720p,1080p")
    parser.add_argument("--results", type=Path)
    args = parser.parse_args()
    if not args.deface:
        print("no --deface given: its rows are left out. To compare, install it apart:\n"
              "  python3 -m venv /tmp/deface-venv && "
              "/tmp/deface-venv/bin/pip install deface onnxruntime\n"
              "and pass --deface /tmp/deface-venv/bin/deface", file=sys.stderr)
    settings = Settings()
    redactor = bootstrap.build_redactor(settings)
    load = timed(redactor.check)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.sizes.split(","):
            rows += measure_size(name, Path(folder), args.seconds, args.deface, settings,
                                 redactor)
    lines = report_lines(args, rows, load)
    print("\n".join(lines))
    if args.results:
        replace_section(args.results, "redaction",
                        "Face redaction: Porchlight vs deface (issue 17)", lines)


def report_lines(args: argparse.Namespace, rows: list[dict], load: dict) -> list[str]:
    command = "bench/redaction_bench.py" + (f" --deface {args.deface}" if args.deface else "")
    command += f" --seconds {args.seconds:g}" + (f" --results {args.results}"
                                                  if args.results else "")
    loads = [row["load"] for row in rows]
    lines = [
        *machine_lines(),
        f"- command: `.venv/bin/python {command}`",
        f"- clips: faces_clip.write_clip, {args.seconds:g} s at {FPS} fps, H.264 crf 18; "
        "two faces 40-200 px moving over bricks, gravel and grass",
        f"- load average (1 min) during the runs: {min(loads):.1f} to {max(loads):.1f} "
        "(other engineers' tests share the 2 cores: every figure is a floor)",
        f"- Porchlight's model load before the clock: {load['wall']:.2f} s",
        "",
        "| clip | tool | frames/s | x real time | CPU ms/frame | recall (area) "
        "| face-frames >= 95% | worst face-frame |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['size']} | {row['tool']} | {row['fps']:.1f} | {row['fps'] / FPS:.2f} | "
            f"{row['cpu_per_frame'] * 1000:.1f} | {row['recall']:.3f} | "
            f"{row['frames95']:.3f} | {row['worst']:.2f} |")
    return lines


if __name__ == "__main__":
    main()
