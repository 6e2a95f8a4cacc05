"""Scheduled work the worker runs on its ticks, besides the jobs commits ask for.

Each pass is derived from database state and idempotent, so running it twice, or on two
workers, or after a crash half-way, is harmless: waking jobs that are due with no wake-up
on its way (every ``PORCHLIGHT_JOBS__SWEEP_INTERVAL_SECONDS``, default 10 s: a crash
between a commit and its wake-up, a worker killed under a claim), an audit sequencing
pass nobody asked for (every ``PORCHLIGHT_AUDIT__SWEEP_INTERVAL_SECONDS``, default 30 s:
what a dead sequencing job left, a checkpoint not yet signed), closing requests past
their deadline (every 30 s), the retention sweeps of clips, of agencies' evidence and of feed posts
(every 10 minutes), the owners' notices of legal demands whose court-ordered delay
ended or whose emergency documentation ran out of time (every 5 minutes), and deleting
finished jobs older than ``PORCHLIGHT_JOBS__KEEP_DONE_DAYS`` (every hour).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import structlog

from porchlight.bootstrap import Container
from porchlight.custody.services import demands
from porchlight.custody.services import retention as custody_retention
from porchlight.entrypoints.uploads import upload_dir
from porchlight.feed.services import retention as feed_retention
from porchlight.footage.services import retention
from porchlight.jobs.services import jobs
from porchlight.requests.services import video_requests

log = structlog.get_logger("porchlight.worker")


class Housekeeping:
    def __init__(self, container: Container, monotonic: Callable[[], float] = time.monotonic,
                 *, sequence: Callable[[], object] | None = None) -> None:
        self.container = container
        self.monotonic = monotonic
        self.jobs: list[tuple[str, float, Callable[[], object]]] = [
            ("jobs", container.settings.jobs.sweep_interval_seconds, self._jobs),
            *([("audit", container.settings.audit.sweep_interval_seconds, sequence)]
              if sequence else []),
            ("requests", 30.0, self._requests),
            ("retention", 600.0, self._retention),
            ("evidence retention", 600.0, self._evidence_retention),
            ("feed retention", 600.0, self._feed_retention),
            ("legal demand notices", 300.0, self._legal_demands),
            ("prune jobs", 3600.0, self._prune_jobs),
        ]
        self.last_run: dict[str, float] = {}

    def __call__(self, _result: object = None) -> None:
        now = self.monotonic()
        for name, every, job in self.jobs:
            if now - self.last_run.get(name, float("-inf")) < every:
                continue
            self.last_run[name] = now
            try:
                outcome = job()
            except Exception as exc:  # one failing job must not stop the others
                log.error("job failed", job=name, error=type(exc).__name__)
                continue
            if _changed(outcome):
                log.info("job done", job=name, outcome=str(outcome))

    def _jobs(self) -> int:
        """Wake the jobs that are due with no wake-up on its way (see jobs.services.jobs)."""
        return self.container.jobs.wake_due()

    def _evidence_retention(self) -> int:
        return custody_retention.expire_due(self.container.uow())

    def _feed_retention(self) -> int:
        return feed_retention.expire_due(self.container.uow())

    def _legal_demands(self) -> tuple[int, int]:
        uow = self.container.uow
        return demands.send_due_notices(uow()), demands.expire_account_records(uow())

    def _prune_jobs(self) -> int:
        keep = timedelta(days=self.container.settings.jobs.keep_done_days)
        return jobs.prune_finished(self.container.uow(), keep)

    def _requests(self) -> int:
        return video_requests.close_due(self.container.uow())

    def _retention(self) -> retention.RetentionReport:
        return retention.sweep(self.container.uow(), self.container.footage.store,
                               upload_dir(self.container.settings.data_dir))


def _changed(outcome: object) -> bool:
    """Log a job only when it did something, not every idle tick."""
    if isinstance(outcome, int):
        return outcome > 0
    if isinstance(outcome, tuple):
        return any(outcome)
    if isinstance(outcome, retention.RetentionReport):
        return any((outcome.expired, outcome.purged, outcome.orphans_removed,
                    outcome.temp_files_removed))
    return bool(outcome)
