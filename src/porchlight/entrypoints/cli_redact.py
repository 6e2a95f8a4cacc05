"""`porchlight redact INPUT -o OUTPUT`: blur or pixelate the faces in a video file.

The same engine and defaults as the derived copies made in the library. Exit codes: 0 the
copy is written, 1 the video could not be redacted (unreadable, no model; nothing is
written), 2 a bad argument.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from porchlight import bootstrap
from porchlight.config import Settings
from porchlight.redaction.domain.options import (
    ExtraBox,
    Rect,
    RedactionOptions,
    RedactionReport,
    Style,
)
from porchlight.redaction.services.ports import RedactionFailed

console = Console(highlight=False, soft_wrap=True, emoji=False)


def _fail(message: str, code: int) -> typer.Exit:
    console.print(f"[red]{escape(message)}[/]")
    return typer.Exit(code)


def parse_box(text: str) -> ExtraBox:
    """``START:END:X,Y,W,H`` (seconds, then pixels of the source frame)."""
    try:
        start, end, rect = text.split(":")
        x, y, w, h = (int(v) for v in rect.split(","))
        box = ExtraBox(float(start), float(end), Rect(x, y, w, h))
    except ValueError as exc:
        raise ValueError(f"--box {text!r} is not START:END:X,Y,W,H") from exc
    if box.end < box.start or w <= 0 or h <= 0 or x < 0 or y < 0:
        raise ValueError(f"--box {text!r}: the end comes before the start or the area is empty")
    return box


def redact(
    video: str = typer.Argument(..., help="The video file to redact."),
    output: Path = typer.Option(..., "-o", "--output", help="The MP4 to write."),
    style: Style = typer.Option(Style.BLUR, help="How faces are covered."),
    drop_audio: bool = typer.Option(False, "--drop-audio", help="Leave the sound out."),
    keep: list[int] = typer.Option([], help="A track id (from an earlier run's report) to "
                                            "leave visible; repeatable."),
    box: list[str] = typer.Option([], help="START:END:X,Y,W,H: also cover this area from "
                                           "START to END seconds; repeatable."),
    start: float | None = typer.Option(None, min=0, help="Keep from this second."),
    end: float | None = typer.Option(None, min=0, help="Keep up to this second."),
    report: Path | None = typer.Option(None, help="Write the report (tracks, boxes, "
                                                  "parameters) here as JSON."),
) -> None:
    """Blur or pixelate every face in VIDEO and write an H.264 MP4 that plays in browsers."""
    source = Path(video)
    if not source.is_file():
        raise _fail(f"no such file: {video}", 2)
    if start is not None and end is not None and end <= start:
        raise _fail("--end must come after --start", 2)
    try:
        extra = tuple(parse_box(each) for each in box)
    except ValueError as exc:
        raise _fail(str(exc), 2) from exc
    options = RedactionOptions(style=style, keep_visible=frozenset(keep), extra_boxes=extra,
                               keep_audio=not drop_audio, start=start, end=end)
    redactor = bootstrap.build_redactor(Settings())
    began = time.monotonic()
    try:
        result = _run(redactor, source, output, options)
    except RedactionFailed as exc:
        raise _fail(str(exc), 1) from exc
    elapsed = time.monotonic() - began
    if report is not None:
        report.write_text(json.dumps(asdict(result), indent=1, default=str) + "\n")
    _print(result, output, elapsed)


def _run(redactor, source: Path, output: Path, options: RedactionOptions) -> RedactionReport:
    columns = (TextColumn("redacting"), BarColumn(), MofNCompleteColumn(),
               TaskProgressColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("frames", total=None)
        return redactor.redact(
            source, output, options,
            lambda done, total: progress.update(task, completed=done, total=total))


def _print(report: RedactionReport, output: Path, elapsed: float) -> None:
    speed = report.frames / elapsed if elapsed > 0 else 0.0
    console.print(f"wrote {escape(str(output))}: {report.frames} frames, "
                  f"{report.width}x{report.height} at {report.fps:g} fps, "
                  f"in {elapsed:.1f} s ({speed:.0f} frames/s)")
    if report.tracks:
        table = Table("track", "from", "to", "best score", title="Faces (--keep TRACK "
                      "leaves one visible)")
        for track in report.tracks:
            first, last = track.boxes[0].frame, track.boxes[-1].frame
            best = max(b.score for b in track.boxes)
            table.add_row(str(track.id), f"{first / report.fps:.2f} s",
                          f"{last / report.fps:.2f} s", f"{best:.2f}")
        console.print(table)
    else:
        console.print("no faces found")
    if report.low_confidence:
        table = Table("frame", "time", "score", "", title="Frames to check")
        for low in report.low_confidence:
            what = "weak detection, covered" if low.covered else "faint, NOT covered"
            table.add_row(str(low.frame), f"{low.time:.2f} s", f"{low.score:.2f}", what)
        console.print(table)
