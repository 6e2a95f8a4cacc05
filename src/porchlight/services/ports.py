"""The ports the use cases need; adapters implement them and bootstrap picks which."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from porchlight.domain.accounts import Account
from porchlight.domain.agencies import Agency
from porchlight.domain.cameras import Camera
from porchlight.domain.events import DomainEvent


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class AccountRepository(Protocol):
    def add(self, account: Account) -> None: ...

    def get(self, account_id: UUID) -> Account | None: ...

    def get_by_email(self, email: str) -> Account | None: ...

    def list_staff(self, agency_id: UUID) -> Sequence[Account]: ...

    def count_residents(self) -> int: ...


class AgencyRepository(Protocol):
    def add(self, agency: Agency) -> None: ...

    def get(self, agency_id: UUID) -> Agency | None: ...

    def list(self) -> Sequence[Agency]: ...


class CameraRepository(Protocol):
    def add(self, camera: Camera) -> None: ...

    def get(self, camera_id: UUID) -> Camera | None: ...

    def list_by_owner(self, owner_id: UUID) -> Sequence[Camera]: ...

    def count(self, *, opted_in: bool | None = None) -> int: ...


class UnitOfWork(Protocol):
    """One transaction: the state changes and the audit events they produce commit together."""

    clock: Clock
    accounts: AccountRepository
    agencies: AgencyRepository
    cameras: CameraRepository

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def record(self, event: DomainEvent) -> None:
        """Record an event that belongs to no entity (a refused sign-in, say)."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
