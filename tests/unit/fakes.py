"""In-memory fakes of the ports, so use cases can be tested with no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from porchlight.domain.accounts import Account, AccountKind
from porchlight.domain.agencies import Agency
from porchlight.domain.cameras import Camera
from porchlight.domain.entity import Entity
from porchlight.domain.events import DomainEvent
from porchlight.services.ports import Clock
from porchlight.services.unit_of_work import EventCollectingUnitOfWork


class _FakeRepository:
    def __init__(self, uow: FakeUnitOfWork, store: dict[UUID, Entity]) -> None:
        self._uow = uow
        self._store = store

    def add(self, entity: Entity) -> None:
        self._uow.staged[entity.id] = (self._store, entity)  # type: ignore[attr-defined]
        self._uow.track(entity)

    def get(self, entity_id: UUID):
        entity = self._store.get(entity_id) or self._staged(entity_id)
        if entity is not None:
            self._uow.track(entity)
        return entity

    def _staged(self, entity_id: UUID) -> Entity | None:
        store, entity = self._uow.staged.get(entity_id, (None, None))
        return entity if store is self._store else None

    def _values(self) -> list:
        staged = [e for s, e in self._uow.staged.values() if s is self._store]
        return list(self._store.values()) + staged


class FakeAccounts(_FakeRepository):
    def get_by_email(self, email: str) -> Account | None:
        return next((a for a in self._values() if a.email == email), None)

    def list_staff(self, agency_id: UUID) -> Sequence[Account]:
        return [a for a in self._values() if a.agency_id == agency_id]

    def count_residents(self) -> int:
        return sum(1 for a in self._values() if a.kind is AccountKind.RESIDENT)


class FakeAgencies(_FakeRepository):
    def list(self) -> Sequence[Agency]:
        return self._values()


class FakeCameras(_FakeRepository):
    def list_by_owner(self, owner_id: UUID) -> Sequence[Camera]:
        return [c for c in self._values() if c.owner_id == owner_id]

    def count(self, *, opted_in: bool | None = None) -> int:
        return sum(1 for c in self._values() if opted_in is None or c.opted_in == opted_in)


class FakeUnitOfWork(EventCollectingUnitOfWork):
    """Added entities become visible to later units of work only when committed."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.tables: dict[str, dict[UUID, Entity]] = {"accounts": {}, "agencies": {}, "cameras": {}}
        self.audit: list[DomainEvent] = []
        self.staged: dict[UUID, tuple[dict, Entity]] = {}
        self.commits = 0

    def __enter__(self) -> FakeUnitOfWork:
        super().__enter__()
        self.staged = {}
        self.accounts = FakeAccounts(self, self.tables["accounts"])
        self.agencies = FakeAgencies(self, self.tables["agencies"])
        self.cameras = FakeCameras(self, self.tables["cameras"])
        return self

    def _write_audit(self, events: list[DomainEvent]) -> None:
        self.audit.extend(events)

    def _commit(self) -> None:
        for store, entity in self.staged.values():
            store[entity.id] = entity
        self.staged = {}
        self.commits += 1

    def _rollback(self) -> None:
        self.staged = {}

    def _end(self) -> None:
        self.staged = {}
