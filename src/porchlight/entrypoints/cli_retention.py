"""`porchlight retention run`: purge every clip past its camera's retention."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from porchlight import bootstrap
from porchlight.config import Settings
from porchlight.entrypoints.uploads import upload_dir
from porchlight.footage.services import retention

app = typer.Typer(help="Retention: delete footage whose time is up.", no_args_is_help=True)
console = Console()


@app.command("run")
def run() -> None:
    """Shred keys, delete objects, mark rows; safe to kill and run again at any point."""
    container = bootstrap.build(Settings())
    columns = (TextColumn("purging expired clips"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("purge", total=None)
        report = retention.run(
            container.uow(), container.footage.store, upload_dir(container.settings.data_dir),
            lambda done, total: progress.update(task, completed=done, total=total),
        )
    console.print(
        f"purged {report.purged} of {report.expired} expired clips; removed "
        f"{report.orphans_removed} orphaned objects and {report.temp_files_removed} temp files"
    )
    container.close()
