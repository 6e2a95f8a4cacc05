"""Job transports: they carry wake-ups ("job X may be ready"), never the work itself.

- ``HueyQueue``: huey, on a SQLite file in the data folder (the embedded default: no
  server) or on Redis (any number of ``porchlight worker`` processes on any number of
  machines). Huey delivers each wake-up at most once and may lose one in a crash; that is
  fine, because the database holds the job and the sweeper wakes what is due again.
- ``InlineQueue``: runs the job at once in the caller's thread, for the tests and for
  one-shot commands; a delayed wake-up (a retry) is left to the sweeper.

Why huey: it runs on SQLite with no server and on Redis at scale with the same code,
schedules delayed wake-ups (retry backoff) itself, and is small and maintained. Its own
retries and results are not used: attempts, backoff, leases, progress and the dead-letter
list live on the job's row, in the same database as the change that made the job.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from huey import RedisHuey, SqliteHuey
from huey.api import Huey

from porchlight.kernel.adapters.files import private_file

RunJob = Callable[[UUID], str]
log = logging.getLogger(__name__)


class InlineQueue:
    def __init__(self, run: RunJob) -> None:
        self.run = run

    def wake(self, job_id: UUID, delay_seconds: float = 0.0) -> None:
        if delay_seconds <= 0:
            self.run(job_id)


def sqlite_huey(path: Path, name: str) -> Huey:
    private_file(path)  # 0600 in a 0700 folder, like every file of the data folder
    return SqliteHuey(name=name, filename=str(path), results=False, utc=True)


def redis_huey(url: str, name: str) -> Huey:
    return RedisHuey(name=name, url=url, results=False, utc=True, blocking=True)


class HueyQueue:
    """Wake-ups as huey tasks; ``consumer()`` runs them (in a worker, or the web app)."""

    def __init__(self, huey: Huey, run: RunJob) -> None:
        self.huey = huey

        @huey.task(name="porchlight.job")
        def run_job(job_id: str) -> None:
            run(UUID(job_id))

        self._task = run_job

    def wake(self, job_id: UUID, delay_seconds: float = 0.0) -> None:
        if delay_seconds > 0:
            self._task.schedule(args=(str(job_id),), delay=delay_seconds)
        else:
            self._task(str(job_id))

    def pending(self) -> int:
        return self.huey.pending_count()

    def workers(self, count: int) -> QueueWorkers:
        return QueueWorkers(self.huey, count)


class QueueWorkers:
    """Threads that take wake-ups from huey and run them, and one that moves delayed
    wake-ups onto the queue when their time comes.

    Built on huey's public ``dequeue``, ``execute`` and ``read_schedule`` rather than its
    ``Consumer``, whose ``start`` installs signal handlers (it must own the main thread),
    while these threads run beside the web app or the worker's audit loop."""

    def __init__(self, huey: Huey, count: int, idle_seconds: float = 0.2) -> None:
        self.huey, self.count, self.idle = huey, count, idle_seconds
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        loops = [self._work] * self.count + [self._schedule]
        self._threads = [threading.Thread(target=loop, name=f"porchlight-jobs-{n}",
                                          daemon=True) for n, loop in enumerate(loops)]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout)

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                task = self.huey.dequeue()
                if task is None:
                    self._stopping.wait(self.idle)
                    continue
                self.huey.execute(task)
            except Exception as error:  # the loop must outlive a broken message or storage
                log.error("job worker: %s", type(error).__name__)
                self._stopping.wait(1.0)

    def _schedule(self) -> None:
        while not self._stopping.is_set():
            try:
                for task in self.huey.read_schedule():
                    self.huey.enqueue(task)
            except Exception as error:
                log.error("job scheduler: %s", type(error).__name__)
            self._stopping.wait(0.5)
