"""The worker's loop: `porchlight worker`, or a thread of the web app.

It ticks every ``sequence_interval_seconds`` and runs the housekeeping that is due. The
audit log is sequenced by ``audit.sequence`` jobs that commits ask for (see
kernel.services.messagebus), so with job threads running the loop sequences only as a
sweep (``PORCHLIGHT_AUDIT__SWEEP_INTERVAL_SECONDS``); a worker without job threads
(``--no-jobs``) sequences on every tick. A failed pass is logged and retried later;
since every batch is one transaction, a failure or a kill loses nothing. Running several
workers at once is safe — the sequencer's lock lets one write at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from porchlight.audit.services.log import Sequencer, SequenceResult
from porchlight.audit.services.ports import AuditQueueBusy
from porchlight.bootstrap import Container
from porchlight.entrypoints.housekeeping import Housekeeping

log = structlog.get_logger("porchlight.audit")


class AuditWorker:
    """Runs sequencing passes every ``interval`` seconds until ``stop`` is called."""

    def __init__(
        self,
        sequencer: Sequencer,
        interval: float,
        on_pass: Callable[[SequenceResult | None], None] | None = None,
        *,
        sequence_each_tick: bool = True,
    ) -> None:
        self.sequencer = sequencer
        self.interval = interval
        self.on_pass = on_pass
        self.sequence_each_tick = sequence_each_tick
        self.passes = 0
        self.pass_done = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, *, force: bool = False) -> SequenceResult | None:
        """One sequencing pass (``force``: even if this window has its batch), then the
        housekeeping that is due."""
        result = self.sequence(force=force)
        if result is not None and self.on_pass is not None:
            self.on_pass(result)
        return result

    def tick(self) -> None:
        if self.sequence_each_tick:
            self.run_once()
        elif self.on_pass is not None:
            self.on_pass(None)

    def sequence(self, *, force: bool = False) -> SequenceResult | None:
        """One pass; errors are logged (with their type only), never raised."""
        try:
            result = self.sequencer.run_pass(force=force)
        except AuditQueueBusy:
            log.info("audit sequencing deferred: audit events are still being written")
            return None
        except Exception as exc:  # the loop must survive anything a pass can hit
            log.error("audit sequencing failed", error=type(exc).__name__)
            return None
        finally:
            self.passes += 1
            self.pass_done.set()
        if result.sequenced or result.checkpoint:
            signed = result.checkpoint.size if result.checkpoint else None
            log.info("audit log sequenced", leaves=result.sequenced, size=result.size,
                     checkpoint=signed)
        return result

    def run_forever(self) -> None:
        while not self._stopping.is_set():
            self.tick()
            self._stopping.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.run_forever, name="porchlight-audit-sequencer", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)


def worker_for(container: Container, *, jobs: bool = True) -> AuditWorker:
    """The worker loop: housekeeping, with audit sequencing on every tick when no job
    threads run here to take the sequencing jobs, and as a sweep when they do."""
    interval = container.settings.audit.sequence_interval_seconds
    worker = AuditWorker(container.audit_sequencer(), interval, sequence_each_tick=not jobs)

    def sweep() -> int:
        result = worker.sequence()
        return result.sequenced if result else 0

    worker.on_pass = Housekeeping(container, sequence=sweep if jobs else None)
    return worker


def start_in_process(container: Container) -> AuditWorker | None:
    """The embedded default: a sequencer thread beside the web app, unless turned off."""
    if not container.settings.sequence_audit_in_process:
        return None
    worker = worker_for(container, jobs=container.settings.run_jobs_in_process)
    worker.start()
    return worker
