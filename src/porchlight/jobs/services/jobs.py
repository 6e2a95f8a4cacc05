"""Running jobs: claim one for a lease, run its handler, record how it went.

The queue only says "job X may be ready"; this module decides, from the job's row, whether
it really is, and takes it for a lease in a short transaction (two workers woken for the
same job: one gets it). The handler runs with no transaction open; it reports progress
now and then, which also renews the lease. On success the job is done; on failure it waits
longer each time (``jobs.domain.jobs.retry_delay``) and after its last attempt it is dead, for
an admin to see and retry. A worker killed at any line leaves either a claimed row whose
lease lapses (the sweeper wakes it again) or a finished one: handlers are idempotent, so
running one twice is harmless.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID

from porchlight.jobs.domain.jobs import Job, JobState
from porchlight.kernel.domain.errors import NotFound
from porchlight.kernel.domain.policies import Actor, require_platform_admin
from porchlight.kernel.services.ports import JobQueue, UnitOfWork

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=2)
PROGRESS_EVERY_SECONDS = 1.0


class Progress(Protocol):
    def __call__(self, done: int, total: int | None = None) -> None: ...


Handler = Callable[[dict[str, Any], Progress], None]


@dataclass
class JobRunner:
    uow_factory: Callable[[], UnitOfWork]
    handlers: Mapping[str, Handler]
    queue: JobQueue
    lease: timedelta = DEFAULT_LEASE
    # How late a job must be before the sweeper wakes it: on a queue that schedules its own
    # (delayed) wake-ups, one sweep interval, so a backlog whose wake-ups are still queued
    # is not woken again on every sweep; on the inline queue, none (the sweeper is its
    # only wake-up for a delayed job).
    sweep_grace: timedelta = timedelta(0)

    def wake_all(self, jobs: list[Job]) -> None:
        """After a commit: tell the queue about the jobs it wrote."""
        for job in jobs:
            delay = max(0.0, (job.run_after - job.created_at).total_seconds())
            self.queue.wake(job.id, delay)

    def run(self, job_id: UUID, watch: Progress | None = None) -> str:
        """Run the job if it is due; what happened: ran, failed, dead or not_due.
        ``watch`` is told the progress too, at once (a command's progress bar)."""
        claimed = self._claim(job_id)
        if claimed is None:
            return "not_due"
        job, attempt = claimed
        recorded = self._progress(job.id, attempt)

        def progress(done: int, total: int | None = None) -> None:
            recorded(done, total)
            if watch is not None:
                watch(done, total)
        try:
            self.handlers[job.kind](job.args, progress)
        except Exception as error:  # any failure of the work: record it, retry later
            # only the error's class: its message may name a person (an SMTP server
            # refusing a recipient quotes the address) and the dead-letter list shows it
            return self._failed(job.id, attempt, type(error).__name__)
        self._finish(job.id, attempt)
        return "ran"

    def _claim(self, job_id: UUID) -> tuple[Job, int] | None:
        uow = self.uow_factory()
        with uow:
            job = uow.jobs.get(job_id)
            if job is None:
                return None
            uow.lock(job)  # two workers woken for it: the second sees the first's claim
            if job.kind not in self.handlers:
                return None
            claimed = job.claim(now=uow.clock.now(), lease=self.lease)
            if claimed or job.state is JobState.DEAD:
                uow.commit()  # a claim, or a job that killed its worker on every attempt
            if not claimed:
                if job.state is JobState.DEAD:
                    log.warning("job %s is dead: its worker never came back", job_id)
                return None
            return job, job.attempts

    def _progress(self, job_id: UUID, attempt: int) -> Progress:
        last = [0.0]

        def report(done: int, total: int | None = None) -> None:
            if time.monotonic() - last[0] < PROGRESS_EVERY_SECONDS:
                return
            last[0] = time.monotonic()
            self._update(job_id, attempt, lambda job, now: job.progress(
                done, total, now=now, lease=self.lease))
        return report

    def _finish(self, job_id: UUID, attempt: int) -> None:
        self._update(job_id, attempt, lambda job, now: job.succeed(now=now))

    def _failed(self, job_id: UUID, attempt: int, error: str) -> str:
        delays: list[timedelta | None] = []
        self._update(job_id, attempt, lambda job, now: delays.append(job.fail(error, now=now)))
        log.warning("job %s failed (attempt %s): %s", job_id, attempt, error)
        if not delays:
            return "lost"  # our claim lapsed meanwhile; another worker owns the job now
        delay = delays[0]
        if delay is None:
            return "dead"
        self.queue.wake(job_id, delay.total_seconds())
        return "failed"

    def _update(self, job_id: UUID, attempt: int, change: Callable[[Job, Any], None]) -> None:
        """Change the job only while this run still holds it (same attempt, running)."""
        uow = self.uow_factory()
        with uow:
            job = uow.jobs.get(job_id)
            if job is None:
                return
            uow.lock(job)
            if job.state is not JobState.RUNNING or job.attempts != attempt:
                return
            change(job, uow.clock.now())
            uow.commit()

    def wake_due(self, limit: int = 500) -> int:
        """The sweeper: wake every job that is overdue and may have no wake-up on its way
        (a crash between a commit and its wake-up, a worker killed under a claim)."""
        uow = self.uow_factory()
        with uow.reading():
            due = [job.id for job in uow.jobs.due(uow.clock.now() - self.sweep_grace, limit)]
        for job_id in due:
            self.queue.wake(job_id)
        return len(due)


def prune_finished(uow: UnitOfWork, keep: timedelta, batch: int = 1000) -> int:
    """Delete done jobs older than ``keep``, a batch per transaction; how many. (One
    ``audit.sequence`` job per second of activity would otherwise pile up for ever.)"""
    removed = 0
    while True:
        with uow:
            count = uow.jobs.delete_finished(uow.clock.now() - keep, batch)
            uow.commit()
        removed += count
        if count < batch:
            return removed


def list_jobs(uow: UnitOfWork, actor: Actor, states: list[JobState], limit: int = 100
              ) -> list[Job]:
    with uow.reading():
        require_platform_admin(actor)
        return list(uow.jobs.listed(states, limit))


def retry_dead_job(uow: UnitOfWork, queue: JobQueue, actor: Actor, job_id: UUID) -> None:
    """A platform admin (or the operator at the command line) sends a dead job round
    again: the dead-letter list's button, ``porchlight jobs retry``."""
    with uow:
        admin = require_platform_admin(actor)
        job = uow.jobs.get(job_id)
        if job is None:
            raise NotFound("no such job")
        job.retry(now=uow.clock.now(), actor_id=admin.id)
        uow.commit()
    queue.wake(job_id)


def find_job(uow: UnitOfWork, actor: Actor, ref: str) -> Job:
    """A job by its id or its key (``evidence.derive:<consent id>``), for a platform admin."""
    with uow.reading():
        require_platform_admin(actor)
        try:
            job = uow.jobs.get(UUID(ref))
        except ValueError:
            job = uow.jobs.by_key(ref)
        if job is None:
            raise NotFound("no such job")
        return job


def job_state(uow: UnitOfWork, key: str) -> Job | None:
    """The job with this key, for a page that shows how its work is going."""
    with uow.reading():
        return uow.jobs.by_key(key)
