"""In-memory fakes of the ports, so use cases can be tested with no I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from uuid import UUID

from porchlight.domain.accounts import Account, AccountKind
from porchlight.domain.agencies import Agency
from porchlight.domain.cameras import Camera
from porchlight.domain.clips import Clip
from porchlight.domain.entity import Entity
from porchlight.domain.events import DomainEvent
from porchlight.domain.geo import LatLon, haversine_m
from porchlight.services.ports import Clock, Examined
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

    def within(self, centre: LatLon, radius_m: float, *, opted_in_only: bool = True
               ) -> list[Camera]:
        return [c for c in self._values() if (c.opted_in or not opted_in_only)
                and haversine_m(centre, c.location) <= radius_m]


class FakeClips(_FakeRepository):
    def find_by_sha256(self, camera_id: UUID, sha256: str) -> Clip | None:
        return next((c for c in self._values() if c.camera_id == camera_id
                     and c.sha256 == sha256 and c.deleted_at is None), None)

    def list_for_owner(self, owner_id: UUID, *, limit: int = 500) -> Sequence[Clip]:
        return [c for c in self._values() if c.owner_id == owner_id and c.deleted_at is None]

    def list_for_camera(self, camera_id: UUID) -> Sequence[Clip]:
        return [c for c in self._values() if c.camera_id == camera_id and c.deleted_at is None]

    def cameras_with_footage(
        self, camera_ids: Sequence[UUID], start: datetime, end: datetime
    ) -> set[UUID]:
        wanted = set(camera_ids)
        return {c.camera_id for c in self._values()
                if c.camera_id in wanted and c.is_readable and c.overlaps(start, end)}

    def expired(self, now: datetime, *, limit: int) -> Sequence[Clip]:
        found = [c for c in self._values() if c.expires_at <= now and c.deleted_at is None]
        return sorted(found, key=lambda c: c.expires_at)[:limit]

    def count_expired(self, now: datetime) -> int:
        return len(self.expired(now, limit=10**9))

    def known_object_keys(self, keys: Sequence[str]) -> set[str]:
        named = {k for c in self._values() for k in (c.object_key, c.poster_key)}
        return {k for k in keys if k in named}


class FakeAuditEvents:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    def count_recent(self, actor_ids, kind: str, since: datetime) -> int:
        return sum(1 for at, event in self._uow.audit_times
                   if event.actor_id in set(actor_ids) and event.kind == kind and at >= since)


class FakeUnitOfWork(EventCollectingUnitOfWork):
    """Added entities become visible to later units of work only when committed."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.tables: dict[str, dict[UUID, Entity]] = {
            "accounts": {}, "agencies": {}, "cameras": {}, "clips": {}}
        self.audit: list[DomainEvent] = []
        self.audit_times: list[tuple[datetime, DomainEvent]] = []
        self.staged: dict[UUID, tuple[dict, Entity]] = {}
        self.commits = 0

    def _start(self) -> None:
        self.staged = {}
        self.accounts = FakeAccounts(self, self.tables["accounts"])
        self.agencies = FakeAgencies(self, self.tables["agencies"])
        self.cameras = FakeCameras(self, self.tables["cameras"])
        self.clips = FakeClips(self, self.tables["clips"])
        self.audit_events = FakeAuditEvents(self)

    def lock(self, entity: Entity) -> None:
        """The fake runs one unit of work at a time: there is nothing to wait for."""

    def _write_audit(self, events: list[DomainEvent]) -> None:
        self.audit.extend(events)
        self.audit_times.extend((self.clock.now(), event) for event in events)

    def _commit(self) -> None:
        for store, entity in self.staged.values():
            store[entity.id] = entity
        self.staged = {}
        self.commits += 1

    def _rollback(self) -> None:
        self.staged = {}

    def _end(self) -> None:
        self.staged = {}


class FakeStagedFootage:
    """A sealed object held by the fake store until it is published or discarded."""

    def __init__(self, store: FakeFootageStore, key: str, data_key: bytes, data: bytes) -> None:
        self._store, self.key, self._entry = store, key, (data_key, data)
        self.size, self.sha256 = len(data), hashlib.sha256(data).hexdigest()
        self.state = "staged"
        store.staged.append(self)

    def publish(self) -> None:
        if self.state != "staged":
            raise RuntimeError(f"already {self.state}")
        self._store.staged.remove(self)
        if self.key.endswith(tuple(self._store.fail_publishes)):
            self.state = "discarded"
            raise OSError("simulated storage outage while publishing")
        self.state = "published"
        self._store.objects[self.key] = self._entry

    def discard(self) -> None:
        if self.state == "published":
            raise RuntimeError("already published")
        if self.state == "staged":
            self._store.staged.remove(self)
        self.state = "discarded"

    def __enter__(self) -> FakeStagedFootage:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.state == "staged":
            self.discard()


class FakeFootageStore:
    """Keeps 'encrypted' objects in memory, XOR-ed with the key so a wrong key reads garbage.

    ``staged`` lists the sealed objects not yet settled: a use case that returns or fails
    must leave it empty, as the real stores leave no staging file."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, bytes]] = {}
        self.staged: list[FakeStagedFootage] = []
        self.fail_deletes = 0
        self.fail_publishes: set[str] = set()  # key endings whose publish fails

    def seal(self, key: str, plaintext: Path, data_key: bytes) -> FakeStagedFootage:
        return FakeStagedFootage(self, key, data_key, plaintext.read_bytes())

    def read(self, key: str, data_key: bytes, start: int, end: int) -> Iterator[bytes]:
        stored_key, data = self.objects[key]
        if stored_key != data_key:
            raise ValueError("authentication failed")
        yield data[start:end]

    def plaintext_size(self, key: str) -> int:
        return len(self.objects[key][1])

    def delete(self, key: str) -> None:
        if self.fail_deletes:
            self.fail_deletes -= 1
            raise OSError("simulated storage outage")
        self.objects.pop(key, None)

    def exists(self, key: str) -> bool:
        return key in self.objects

    def keys(self, prefix: str = "") -> Iterator[str]:
        return iter(sorted(k for k in self.objects if k.startswith(prefix)))

    def sweep_staging(self) -> int:
        return 0


class FakeVideoTools:
    def __init__(self, info) -> None:
        self.info = info
        self.probed: list[Path] = []

    def probe(self, path: Path):
        self.probed.append(path)
        return self.info

    def poster(self, path: Path, *, max_width: int = 480) -> bytes:
        return b"\xff\xd8poster"

    def examine(self, path: Path, *, poster_width: int = 480) -> Examined:
        return Examined(info=self.probe(path), poster=self.poster(path, max_width=poster_width))


class XorVault:
    def seal(self, plaintext: bytes, *, context: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in plaintext) + context

    def open(self, sealed: bytes, *, context: bytes) -> bytes:
        assert sealed.endswith(context)
        return bytes(b ^ 0x5A for b in sealed[: -len(context)])
