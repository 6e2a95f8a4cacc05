"""An in-memory unit of work with the SQL one's transaction semantics, for unit tests.

What it keeps like ``adapters.db.uow.SqlUnitOfWork`` (and the contract test checks):

- Committed rows are the fake's own copies. Each ``with`` block works on copies of them
  (an identity map: the same id twice is the same object), so a change left uncommitted,
  or rolled back, is gone for the next block, and an entity changed after its block
  ended changes nothing stored.
- Queries see the block's own pending changes (as SQLAlchemy's autoflush does).
- Events become audit events only on commit; jobs the message bus asks for are written
  with the commit and handed to ``wake`` only when the block ends after it.
- ``reading()`` refuses ``add``, ``commit`` and, at its next query, a changed entity
  (the SQL one refuses the flush); using a repository outside a block is an error.
- The unique rules two requests can race to break (``RACED``) raise ``Conflict`` at
  commit and roll back, as the SQL one does; the other unique rules raise
  ``FakeIntegrityError`` (a bug, as there).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from porchlight.jobs.domain.jobs import Job
from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import Conflict
from porchlight.kernel.domain.events import DomainEvent
from porchlight.kernel.services.messagebus import MessageBus
from porchlight.kernel.services.ports import Clock
from porchlight.kernel.services.unit_of_work import (
    EventCollectingUnitOfWork,
    Mode,
    ReadOnlyViolation,
    WriteLockBusy,
)
from tests.unit.fake_repositories import (
    POST_CELLS,
    REPOSITORIES,
    FakeAuditEventRepository,
    broken_rules,
)


class FakeIntegrityError(Exception):
    """A unique rule no well-behaved caller can break was broken: a bug in the caller."""


def _values(entity: Entity) -> dict[str, Any]:
    return {f.name: getattr(entity, f.name) for f in dataclasses.fields(entity)}  # type: ignore[arg-type]


def clone(entity: Entity) -> Entity:
    """A separate copy of an entity's stored fields (a row read again), without its events."""
    return type(entity)(**copy.deepcopy(_values(entity)))


class FakeUnitOfWork(EventCollectingUnitOfWork):
    def __init__(self, clock: Clock, *, bus: MessageBus | None = None,
                 wake: Callable[[list[Job]], None] | None = None) -> None:
        self.woken: list[Job] = []
        super().__init__(clock, bus=bus, wake=wake if wake is not None else self.woken.extend)
        self.tables: dict[str, dict[UUID, Entity]] = {name: {}
                                                      for name in [*REPOSITORIES, POST_CELLS]}
        self.audit: list[DomainEvent] = []
        self.audit_times: list[tuple[datetime, DomainEvent]] = []
        self.commits = 0
        self.busy = False  # another writer holds the (SQLite) write lock: unless_busy refuses
        self._open_now = False
        self._loaded: dict[tuple[str, UUID], Entity] = {}
        self._new: dict[tuple[str, UUID], Entity] = {}
        self._deleted: set[tuple[str, UUID]] = set()
        self._audit_pending: list[DomainEvent] = []
        for name, repository in REPOSITORIES.items():
            setattr(self, name, repository(self))
        self.audit_events = FakeAuditEventRepository(self)

    # ---- the session the repositories read through -------------------------------------

    def check_open(self) -> None:
        if not self._open_now:
            raise RuntimeError("the unit of work is used outside its 'with' block")

    def stage_new(self, table: str, entity: Entity, *, track: bool = True) -> None:
        self.check_open()
        if self.read_only:
            raise ReadOnlyViolation("a unit of work opened with reading() cannot write")
        self._deleted.discard((table, entity.id))  # type: ignore[attr-defined]  # again
        self._new[(table, entity.id)] = entity  # type: ignore[attr-defined]
        if track:
            self.track(entity)

    def stage_delete(self, table: str, entity_id: UUID) -> None:
        """A row deleted by this block (a bulk DELETE in SQL): gone at commit."""
        self.check_open()
        if self.read_only:
            raise ReadOnlyViolation("a unit of work opened with reading() cannot write")
        self._deleted.add((table, entity_id))
        self._loaded.pop((table, entity_id), None)
        self._new.pop((table, entity_id), None)

    def load(self, table: str, entity_id: UUID) -> Any:
        self.check_open()
        key = (table, entity_id)
        if key in self._deleted:
            return None
        entity = self._new.get(key) or self._loaded.get(key)
        if entity is None and entity_id in self.tables[table]:
            entity = self._loaded[key] = clone(self.tables[table][entity_id])
            self.track(entity)
        return entity

    def visible(self, table: str) -> list[Any]:
        self.check_open()
        if self.read_only and self._dirty():
            raise ReadOnlyViolation("a unit of work opened with reading() cannot write")
        stored = [self.load(table, entity_id) for entity_id in list(self.tables[table])
                  if (table, entity_id) not in self._deleted]
        return stored + [e for (name, _), e in self._new.items() if name == table]

    def pending(self) -> list[Entity]:
        """What this block added and has not committed yet."""
        return list(self._new.values())

    def _dirty(self) -> bool:
        return any(_values(entity) != _values(self.tables[table][entity_id])
                   for (table, entity_id), entity in self._loaded.items())

    # ---- the storage steps of EventCollectingUnitOfWork --------------------------------

    def _start(self) -> None:
        if self.mode is Mode.WRITE_UNLESS_BUSY and self.busy:
            raise WriteLockBusy()
        self._forget()
        self._open_now = True

    def lock(self, entity: Entity) -> None:
        """One unit of work runs at a time here, so there is nothing to wait for; the
        entity must belong to this block, as SQLAlchemy's refresh requires."""
        self.check_open()
        if not any(e is entity for e in [*self._loaded.values(), *self._new.values()]):
            raise RuntimeError("lock() of an entity this unit of work did not load")

    def _write_audit(self, events: list[DomainEvent]) -> None:
        self._audit_pending.extend(events)

    def _commit(self) -> None:
        merged = {table: dict(rows) for table, rows in self.tables.items()}
        for (table, entity_id), entity in [*self._loaded.items(), *self._new.items()]:
            merged[table][entity_id] = entity
        for table, entity_id in self._deleted:
            merged[table].pop(entity_id, None)
        for table, repository in REPOSITORIES.items():
            for rule in broken_rules(repository, merged[table].values()):
                self._rollback()
                if rule.raced:
                    raise Conflict("This was saved by another request at the same moment.",
                                   code="conflict.concurrent")
                raise FakeIntegrityError(f"unique rule {rule.name} broken")
        for table, rows in merged.items():
            self.tables[table] = {entity_id: clone(entity) for entity_id, entity in rows.items()}
        self._loaded.update(self._new)  # persistent now, still this block's objects
        self._new = {}
        now = self.clock.now()
        self.audit.extend(self._audit_pending)
        self.audit_times.extend((now, event) for event in self._audit_pending)
        self._audit_pending = []
        self.commits += 1

    def _rollback(self) -> None:
        self._forget()

    def _end(self) -> None:
        self._forget()
        self._open_now = False

    def _forget(self) -> None:
        self._loaded, self._new, self._audit_pending = {}, {}, []
        self._deleted = set()
