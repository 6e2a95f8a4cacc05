"""Video worker CPU per upload: a worker process started per file against one forked
from the zygote (issue 19 item 1).

Each mode examines (probes, then takes the poster of) the same small H.264 clip
``--requests`` times, half a second apart, after one warm-up call, and counts all
the CPU the calls cost, children included:

- ``started``: a new interpreter per call (``PyAvVideoTools()``); this process's CPU
  plus its reaped children's (``os.times``).
- ``started + spare``: the same, with the next call's worker started after each call
  (``keep_spare=True``, the default before the zygote); the last spare is ended and
  reaped inside the window, so every worker started is counted once.
- ``zygote``: a worker forked per call from the warm zygote (``zygote=True``); this
  process's CPU plus the zygote's own and its reaped children's (utime, stime, cutime
  and cstime in ``/proc/<zygote>/stat``). The zygote's one-off start is reported apart.

    .venv/bin/python bench/video_worker_bench.py [--requests 20] [--results bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.results import machine_lines, replace_section  # noqa: E402
from porchlight.footage.adapters.video.demo import make_demo_clip  # noqa: E402
from porchlight.footage.adapters.video.tools import PyAvVideoTools  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
PAUSE = 0.5  # seconds between calls, longer than the spare's refill delay


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def zygote_cpu(pid: int) -> float:
    """The zygote's CPU seconds, its waited-for children's (and theirs) included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / TICK


def measure(mode: str, clip: Path, requests: int) -> dict[str, float]:
    tools = PyAvVideoTools(keep_spare=mode == "started + spare", zygote=mode == "zygote")
    start_cpu = own_cpu()
    tools.examine(clip)  # warm-up: starts the zygote, or the first spare
    warm_up = own_cpu() - start_cpu
    pid = tools._zygote[0].pid if tools._zygote else None
    warm_up += zygote_cpu(pid) if pid else 0.0
    time.sleep(PAUSE)
    before = own_cpu() + (zygote_cpu(pid) if pid else 0.0)
    walls = []
    for _ in range(requests):
        call = time.perf_counter()
        tools.examine(clip)
        walls.append(time.perf_counter() - call)
        time.sleep(PAUSE)  # uploads apart: the spare loads between them, as it should
    after_zygote = zygote_cpu(pid) if pid else 0.0
    if mode != "zygote":
        tools.close()  # ends and reaps the last spare, whose start is counted
    cpu = own_cpu() + after_zygote - before
    tools.close()
    return {"cpu": cpu / requests, "wall": sorted(walls)[len(walls) // 2], "warm_up": warm_up}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--results", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clip = make_demo_clip(Path(folder) / "clip.mp4", seconds=4, width=640, height=360,
                              fps=15, seed=1, label="Bench")
        size = clip.stat().st_size
        results = {mode: measure(mode, clip, args.requests)
                   for mode in ("started", "started + spare", "zygote")}
    base = results["started"]["cpu"]
    lines = [
        *machine_lines(),
        f"- command: `.venv/bin/python bench/video_worker_bench.py --requests {args.requests}"
        f"{' --results ' + str(args.results) if args.results else ''}`",
        f"- clip: 640x360 H.264, 4 s at 15 fps, {size / 1024:.0f} KiB (make_demo_clip); "
        f"each request is one `examine` (probe, then poster), as an upload makes",
        "",
        "| worker | CPU per request, children included | vs started | median wall per call |",
        "|---|---|---|---|",
    ]
    for mode, figures in results.items():
        lines.append(f"| {mode} | {figures['cpu'] * 1000:.0f} ms | "
                     f"{figures['cpu'] / base:.2f}x | {figures['wall'] * 1000:.0f} ms |")
    lines += ["", f"The zygote's one-off start (with the first request): "
              f"{results['zygote']['warm_up'] * 1000:.0f} ms of CPU. What a forked "
              "request still costs is its two forks (the monitor that reports the "
              "worker's exit status, and the worker) and the decode itself; the spare "
              "saves the wait for an interpreter start but not its CPU. One run, on a "
              "machine that may be shared: expect a few milliseconds of noise."]
    print("\n".join(lines))
    if args.results:
        replace_section(args.results, "video-worker",
                        "Video worker: process start vs zygote (issue 19 item 1)", lines)


if __name__ == "__main__":
    main()
