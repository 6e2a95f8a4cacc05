"""The shared part of every unit of work: gather events, write them as audit rows, commit."""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Self

from porchlight.jobs.domain.jobs import Job, JobSpec
from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.events import DomainEvent
from porchlight.kernel.services.messagebus import MessageBus
from porchlight.kernel.services.ports import Clock


class ReadOnlyViolation(RuntimeError):
    """A unit of work opened with ``reading()`` was asked to write: a bug in the caller."""


class WriteLockBusy(Exception):
    """``unless_busy()`` found another writer holding the write lock (SQLite only)."""


class Mode(enum.Enum):
    WRITE = "write"  # ``with uow:``
    READ = "read"  # ``with uow.reading():``
    WRITE_UNLESS_BUSY = "write unless busy"  # ``with uow.unless_busy():``


class EventCollectingUnitOfWork(abc.ABC):
    """Subclasses supply the storage; this class guarantees that events are written with it.

    Entities handed to ``track`` (repositories do it on add and get) have their pending
    events pulled at commit, stamped with the clock and written by ``_write_audit`` in
    the same transaction as the state change. A rollback drops them with the change.

    Three ways in: ``with uow:`` may write (on SQLite it takes the single write lock at
    its start, waiting for it); ``with uow.reading():`` only reads, from a snapshot that
    takes no lock, and ``commit`` (and, in storage, any write) refuses;
    ``with uow.unless_busy():`` writes something that can wait for next time (a
    session's last-seen time), and raises ``WriteLockBusy`` at once rather than wait.
    """

    def __init__(self, clock: Clock, *, bus: MessageBus | None = None,
                 wake: Callable[[list[Job]], None] | None = None) -> None:
        self.clock = clock
        self.bus = bus
        self.wake = wake
        self._tracked: list[Entity] = []
        self._loose: list[DomainEvent] = []
        self._asked: list[JobSpec] = []
        self._queued: list[Job] = []
        self.mode = Mode.WRITE

    @property
    def read_only(self) -> bool:
        return self.mode is Mode.READ

    def reading(self) -> AbstractContextManager[Self]:
        """This unit of work for one block that only reads (see the class)."""
        return self._opened(Mode.READ)

    def unless_busy(self) -> AbstractContextManager[Self]:
        """This unit of work for one block that writes only if no one else is (see the class)."""
        return self._opened(Mode.WRITE_UNLESS_BUSY)

    @contextmanager
    def _opened(self, mode: Mode) -> Iterator[Self]:
        self._open(mode)
        try:
            yield self
        finally:
            self.__exit__(None, None, None)

    def __enter__(self) -> Self:
        self._open(Mode.WRITE)
        return self

    def _open(self, mode: Mode) -> None:
        self._tracked = []
        self._loose = []
        self._queued = []
        self.mode = mode
        try:
            self._start()
        except BaseException:
            self.mode = Mode.WRITE
            raise

    def __exit__(self, *exc: object) -> None:
        """Leaving without commit discards the change and its events. Jobs a commit wrote
        are handed to the queue only now, with the transaction closed."""
        self._discard_events()
        self.mode = Mode.WRITE
        self._end()
        queued, self._queued = self._queued, []
        if queued and self.wake is not None:
            self.wake(queued)

    @abc.abstractmethod
    def lock(self, entity: Entity) -> None:
        """Hold the entity's row until commit, and reload it: for a read-modify-write that
        a concurrent one must not overwrite."""

    def track(self, entity: Entity) -> None:
        self._tracked.append(entity)

    def record(self, event: DomainEvent) -> None:
        self._loose.append(event)

    def enqueue(self, spec: JobSpec) -> None:
        """Ask for a job no event calls for (a mail that changes nothing recorded): it is
        written by ``commit`` like the bus's, and dropped by a rollback."""
        self._asked.append(spec)

    def collect_events(self) -> list[DomainEvent]:
        events = list(self._loose)
        self._loose = []
        for entity in self._tracked:
            events.extend(entity.pull_events())
        return events

    def commit(self) -> None:
        if self.read_only:
            raise ReadOnlyViolation("a unit of work opened with reading() cannot commit")
        events = self.collect_events()
        specs = [*self._asked,
                 *(self.bus.jobs_for(events, self.clock.now()) if self.bus and events else [])]
        self._asked = []
        queued = self._write_jobs(specs) if specs else []
        if events:
            self._write_audit(events)
        self._commit()
        if self.bus is not None and specs:
            self.bus.committed(specs)
        self._queued.extend(queued)

    def _write_jobs(self, specs: list[JobSpec]) -> list[Job]:
        """The outbox: each job the events call for, in this transaction, unless a job
        with its key already exists (the same event handled twice)."""
        now = self.clock.now()
        written = []
        for spec in specs:
            job = Job.from_spec(spec, now=now)
            if self.jobs.add_new(job):
                written.append(job)
        return written

    def rollback(self) -> None:
        self._discard_events()
        self._queued = []
        self._rollback()

    def _discard_events(self) -> None:
        self._loose = []
        self._asked = []
        for entity in self._tracked:
            entity.pull_events()

    @abc.abstractmethod
    def _start(self) -> None:
        """Storage-specific step: open the session for ``self.mode``; clean up and raise
        (``WriteLockBusy`` for ``unless_busy``) if that fails."""

    @abc.abstractmethod
    def _write_audit(self, events: list[DomainEvent]) -> None:
        """Storage-specific step."""

    @abc.abstractmethod
    def _commit(self) -> None:
        """Storage-specific step."""

    @abc.abstractmethod
    def _rollback(self) -> None:
        """Storage-specific step."""

    @abc.abstractmethod
    def _end(self) -> None:
        """Release the transaction, rolling back what was not committed.

        Entities already read stay usable (detached, not expired) so a query can return them.
        """
