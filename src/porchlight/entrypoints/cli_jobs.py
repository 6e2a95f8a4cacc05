"""`porchlight jobs`: the dead-letter list, a retry, and a job's progress as it runs."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from porchlight import bootstrap
from porchlight.bootstrap import Container
from porchlight.config import Settings
from porchlight.jobs.domain.jobs import Job, JobState
from porchlight.jobs.services import jobs
from porchlight.kernel.domain.errors import DomainError
from porchlight.kernel.domain.policies import SYSTEM

app = typer.Typer(help="Jobs: work that runs after a change, its failures and its progress.",
                  no_args_is_help=True)
console = Console()
FINISHED = (JobState.DONE, JobState.DEAD)


def _container() -> Container:
    return bootstrap.build(Settings())


@app.command("list")
def list_(state: list[JobState] = typer.Option(
              [JobState.DEAD], "--state", help="Which states to list (repeatable)."),
          limit: int = typer.Option(100, min=1, max=10_000)) -> None:
    """List jobs: by default the dead-letter list (jobs that failed every attempt)."""
    container = _container()
    try:
        found = jobs.list_jobs(container.uow(), SYSTEM, list(state), limit)
    finally:
        container.close()
    if not found:
        console.print(f"no {'/'.join(s.value for s in state)} jobs")
    for job in found:  # one line each: an id to copy whole, then what happened
        details = [job.kind, job.state.value, f"{job.attempts} tries", _progress_text(job),
                   job.error or ""]
        console.print(str(job.id), "  ".join(d for d in details if d), soft_wrap=True)


@app.command()
def retry(job_id: str = typer.Argument(..., help="The id of a dead job.")) -> None:
    """Send a dead job round again with a fresh set of attempts."""
    container = _container()
    try:
        job = jobs.find_job(container.uow(), SYSTEM, job_id)
        jobs.retry_dead_job(container.uow(), container.queue, SYSTEM, job.id)
    except DomainError as error:
        raise _fail(error.message) from None
    finally:
        container.close()
    console.print(f"{job.kind} {job.id} is waiting for a worker again")


@app.command()
def watch(ref: str = typer.Argument(..., help="A job's id or key, e.g. evidence.derive:<id>."),
          timeout: float = typer.Option(600.0, help="Give up after this many seconds.")) -> None:
    """Follow a job with a progress bar until it is done (exit 0) or dead (exit 1)."""
    container = _container()
    try:
        job = _follow(container, ref, timeout)
    except DomainError as error:
        raise _fail(error.message) from None
    finally:
        container.close()
    if job.state is not JobState.DONE:
        raise _fail(f"{job.kind} is {job.state.value}: {job.error or 'no error recorded'}")
    console.print(f"{job.kind} done after {job.attempts} attempt(s)")


def _follow(container: Container, ref: str, timeout: float) -> Job:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    deadline = time.monotonic() + timeout
    with Progress(*columns, console=console, transient=True) as bar:
        task = None
        while True:
            job = jobs.find_job(container.uow(), SYSTEM, ref)
            label = f"{job.kind} ({job.state.value})"
            if task is None:
                task = bar.add_task(label, total=job.progress_total)
            bar.update(task, description=label, completed=job.progress_done,
                       total=job.progress_total)
            if job.state in FINISHED or time.monotonic() > deadline:
                return job
            time.sleep(0.5)


def _progress_text(job: Job) -> str:
    return f"{job.progress_done}/{job.progress_total}" if job.progress_total else ""


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/red]")
    return typer.Exit(1)
