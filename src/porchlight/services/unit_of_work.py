"""The shared part of every unit of work: gather events, write them as audit rows, commit."""

from __future__ import annotations

import abc

from porchlight.domain.entity import Entity
from porchlight.domain.events import DomainEvent
from porchlight.services.ports import Clock


class ReadOnlyViolation(RuntimeError):
    """A unit of work opened with ``reading()`` was asked to write: a bug in the caller."""


class EventCollectingUnitOfWork(abc.ABC):
    """Subclasses supply the storage; this class guarantees that events are written with it.

    Entities handed to ``track`` (repositories do it on add and get) have their pending
    events pulled at commit, stamped with the clock and written by ``_write_audit`` in
    the same transaction as the state change. A rollback drops them with the change.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._tracked: list[Entity] = []
        self._loose: list[DomainEvent] = []
        self._reading = False
        self.read_only = False

    def reading(self):
        """This unit of work, for one ``with`` block that only reads.

        Its transaction is a snapshot that takes no write lock (on SQLite, where a write
        transaction excludes every other one, a page view must not queue behind an
        upload's commit), and it cannot change anything: ``commit`` refuses, and the
        storage refuses any write. A block that may write uses ``with uow:`` instead.
        """
        self._reading = True
        return self

    def __enter__(self):
        self._tracked = []
        self._loose = []
        self.read_only, self._reading = self._reading, False
        return self

    def __exit__(self, *exc: object) -> None:
        """Leaving without commit discards the change and its events."""
        self._discard_events()
        self.read_only = False
        self._end()

    def track(self, entity: Entity) -> None:
        self._tracked.append(entity)

    def record(self, event: DomainEvent) -> None:
        self._loose.append(event)

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
        if events:
            self._write_audit(events)
        self._commit()

    def rollback(self) -> None:
        self._discard_events()
        self._rollback()

    def _discard_events(self) -> None:
        self._loose = []
        for entity in self._tracked:
            entity.pull_events()

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
