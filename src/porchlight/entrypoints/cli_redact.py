"""`porchlight redact INPUT -o OUTPUT`: blur or pixelate the faces in a video file;
`porchlight redact CLIP_ID`: make a redacted copy of a clip in the library.

The same engine and defaults either way. A clip's copy is made by its `redaction.make`
job, run here with a progress bar (or by a worker that took it first), and waits on the
owner's page for them to preview and approve: it goes nowhere without them. Exit codes: 0
the copy is written, 1 the video could not be redacted (unreadable, no model; nothing is
written), 2 a bad argument.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from uuid import UUID

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
from porchlight.jobs.services import jobs
from porchlight.kernel.domain.errors import DomainError
from porchlight.kernel.services.messagebus import redaction_job_key
from porchlight.redaction.domain.copies import CopyStatus
from porchlight.redaction.domain.options import (
    ExtraBox,
    Rect,
    RedactionOptions,
    RedactionReport,
    Style,
)
from porchlight.redaction.services import copies
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
    video: str = typer.Argument(..., help="The video file to redact, or a clip's id."),
    output: Path | None = typer.Option(None, "-o", "--output",
                                       help="The MP4 to write (a file's copy)."),
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
    """Blur or pixelate every face in VIDEO and write an H.264 MP4 that plays in browsers
    (or, given a clip's id, make a redacted copy of the clip for its owner to approve)."""
    source, clip_id = Path(video), None
    if output is None:
        try:
            clip_id = UUID(video)
        except ValueError:
            raise _fail(f"{video} is not a clip id (a file's copy needs -o OUTPUT)", 2) from None
    elif not source.is_file():
        raise _fail(f"no such file: {video}", 2)
    if start is not None and end is not None and end <= start:
        raise _fail("--end must come after --start", 2)
    try:
        extra = tuple(parse_box(each) for each in box)
    except ValueError as exc:
        raise _fail(str(exc), 2) from exc
    options = RedactionOptions(style=style, keep_visible=frozenset(keep), extra_boxes=extra,
                               keep_audio=not drop_audio, start=start, end=end)
    if clip_id is not None:
        _redact_clip(clip_id, options)
        return
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


def _redact_clip(clip_id: UUID, options: RedactionOptions) -> None:
    container = bootstrap.build(Settings())
    try:
        try:
            copy_id = copies.request_copy_for_owner(container.uow(), clip_id, options)
        except DomainError as exc:
            raise _fail(exc.message, 2) from exc
        job = jobs.job_state(container.uow(), redaction_job_key(copy_id))
        columns = (TextColumn("redacting"), BarColumn(), MofNCompleteColumn(),
                   TaskProgressColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("frames", total=None)
            ran = container.jobs.run(job.id, watch=lambda done, total=None: progress.update(
                task, completed=done, total=total)) if job is not None else "not_due"
        with container.uow().reading() as uow:
            copy = uow.redactions.get(copy_id)
        if ran == "not_due" and copy.state is CopyStatus.QUEUED:
            console.print(f"copy {copy_id}: a worker is making it; "
                          f"`porchlight jobs watch` follows it")
        elif copy.state is CopyStatus.READY:
            console.print(f"copy {copy_id} is ready: {len(copy.provenance['tracks'])} face "
                          f"track(s). Its owner previews and approves it at "
                          f"{container.settings.base_url}/redactions/{copy_id}")
        else:
            raise _fail(f"copy {copy_id} could not be made: {copy.failure or ran}", 1)
    finally:
        container.close()


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
