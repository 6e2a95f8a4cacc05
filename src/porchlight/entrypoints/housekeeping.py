"""Scheduled jobs the worker runs between audit sequencing passes.

Each job is derived from database state and idempotent, so running it twice, or on two
workers, or after a crash half-way, is harmless: delivering approved requests and closing
those past their deadline (every 30 s), finishing evidence a crash left incomplete (every
minute), and retention (every 10 minutes).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from porchlight.bootstrap import Container
from porchlight.entrypoints.uploads import upload_dir
from porchlight.services import evidence, retention, video_requests

log = structlog.get_logger("porchlight.worker")


class Housekeeping:
    def __init__(self, container: Container, monotonic: Callable[[], float] = time.monotonic
                 ) -> None:
        self.container = container
        self.monotonic = monotonic
        self.jobs: list[tuple[str, float, Callable[[], object]]] = [
            ("requests", 30.0, self._requests),
            ("evidence", 60.0, self._evidence),
            ("retention", 600.0, self._retention),
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

    def _requests(self) -> tuple[int, int]:
        return video_requests.run_jobs(self.container.uow(), self.container.requests_kit)

    def _evidence(self) -> int:
        return evidence.derive_missing(self.container.uow(), self.container.footage,
                                       self.container.settings.data_dir / "tmp" / "evidence")

    def _retention(self) -> retention.RetentionReport:
        return retention.run(self.container.uow(), self.container.footage.store,
                             upload_dir(self.container.settings.data_dir))


def _changed(outcome: object) -> bool:
    """Log a job only when it did something, not every idle tick."""
    if isinstance(outcome, int):
        return outcome > 0
    if isinstance(outcome, tuple):
        return any(outcome)
    if isinstance(outcome, retention.RetentionReport):
        return any((outcome.purged, outcome.orphans_removed, outcome.temp_files_removed))
    return bool(outcome)
