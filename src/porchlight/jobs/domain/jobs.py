"""Jobs: work that runs after a commit, recorded in the database as the source of truth.

A job row is written in the same transaction as the change that calls for it (an outbox),
so a rollback leaves none and a crash after the commit loses none. The queue only carries
wake-ups: a worker claims the row for a lease, runs the handler, and marks it done; a
worker that dies lets the lease lapse and the job is claimed again. Handlers are
idempotent, so running one twice is harmless. A job that keeps failing waits longer each
time and, after its last attempt, is dead: an admin sees it and may retry it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID, uuid4

from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import Conflict
from porchlight.kernel.domain.events import DomainEvent

MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(hours=1)


WORKER_DIED = "WorkerDied"  # the error of an attempt whose worker never reported back


class JobState(enum.StrEnum):
    PENDING = "pending"  # waiting for its run_after, or for a worker
    RUNNING = "running"  # claimed by a worker until claimed_until
    DONE = "done"
    DEAD = "dead"  # failed MAX_ATTEMPTS times: waits for an admin


@dataclass(frozen=True, kw_only=True)
class JobDied(DomainEvent):
    kind: ClassVar[str] = "job.died"
    job_id: UUID
    job_kind: str
    attempts: int
    error: str


@dataclass(frozen=True, kw_only=True)
class JobRetried(DomainEvent):
    kind: ClassVar[str] = "job.retried"
    job_id: UUID
    job_kind: str


@dataclass(frozen=True)
class JobSpec:
    """What an event handler asks for: a job ``kind`` with JSON-able ``args``. ``key``
    makes it idempotent: a second job with the same key is the same job."""

    kind: str
    args: dict[str, Any]
    key: str
    delay: timedelta = timedelta(0)


def retry_delay(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s, ... up to an hour: the wait after the ``attempts``-th failure."""
    return min(FIRST_RETRY * 2 ** max(0, attempts - 1), LONGEST_RETRY)


@dataclass(eq=False)
class Job(Entity):
    id: UUID
    kind: str
    args: dict[str, Any]
    key: str
    created_at: datetime
    run_after: datetime
    state: JobState = JobState.PENDING
    attempts: int = 0
    claimed_until: datetime | None = None
    progress_done: int = 0
    progress_total: int | None = None
    error: str | None = None
    finished_at: datetime | None = None
    max_attempts: int = field(default=MAX_ATTEMPTS)

    @classmethod
    def from_spec(cls, spec: JobSpec, *, now: datetime) -> Job:
        return cls(id=uuid4(), kind=spec.kind, args=dict(spec.args), key=spec.key,
                   created_at=now, run_after=now + spec.delay)

    def due(self, now: datetime) -> bool:
        """Whether a worker may take it now: pending and its time has come, or running
        under a claim that has lapsed (its worker died)."""
        if self.state is JobState.PENDING:
            return self.run_after <= now
        if self.state is JobState.RUNNING:
            return self.claimed_until is not None and self.claimed_until <= now
        return False

    def claim(self, *, now: datetime, lease: timedelta) -> bool:
        """Take the job for ``lease``. A job whose every attempt was claimed and never
        reported back (it killed its worker: a crash, running out of memory) is dead here
        instead: it would otherwise take a worker down again after every lease."""
        if not self.due(now):
            return False
        if self.state is JobState.RUNNING and self.attempts >= self.max_attempts:
            self.fail(WORKER_DIED, now=now)
            return False
        self.state, self.claimed_until = JobState.RUNNING, now + lease
        self.attempts += 1
        return True

    def extend(self, *, now: datetime, lease: timedelta) -> None:
        """A long job reports progress and keeps its claim."""
        if self.state is JobState.RUNNING:
            self.claimed_until = now + lease

    def progress(self, done: int, total: int | None, *, now: datetime,
                 lease: timedelta) -> None:
        self.progress_done, self.progress_total = done, total
        self.extend(now=now, lease=lease)

    def succeed(self, *, now: datetime) -> None:
        self.state, self.finished_at, self.claimed_until = JobState.DONE, now, None
        self.error = None
        if self.progress_total is not None:
            self.progress_done = self.progress_total

    def fail(self, error: str, *, now: datetime) -> timedelta | None:
        """Record a failed attempt; the delay before the next one, or None when dead."""
        self.error, self.claimed_until = error[:200], None
        if self.attempts >= self.max_attempts:
            self.state, self.finished_at = JobState.DEAD, now
            self.record(JobDied(job_id=self.id, job_kind=self.kind, attempts=self.attempts,
                                error=_code(error)))
            return None
        delay = retry_delay(self.attempts)
        self.state, self.run_after = JobState.PENDING, now + delay
        return delay

    def retry(self, *, now: datetime, actor_id: UUID) -> None:
        """An admin sends a dead job round again, with a fresh set of attempts."""
        if self.state is not JobState.DEAD:
            raise Conflict("only a dead job can be retried")
        self.state, self.run_after, self.finished_at = JobState.PENDING, now, None
        self.max_attempts = self.attempts + MAX_ATTEMPTS
        self.record(JobRetried(actor_id=actor_id, job_id=self.id, job_kind=self.kind))


def _code(error: str) -> str:
    """An error's class name, as an audit code: its message may quote personal data."""
    name = error.split(":", 1)[0].strip().lower()
    return "".join(c if c.isalnum() or c in "_.-" else "_" for c in name)[:60] or "error"
