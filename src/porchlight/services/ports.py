"""The ports the use cases need; adapters implement them and bootstrap picks which."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from porchlight.domain.accounts import Account
from porchlight.domain.agencies import Agency
from porchlight.domain.auth import ApiToken, DeviceToken, OneTimeToken, RecoveryCode, Session
from porchlight.domain.cameras import Camera
from porchlight.domain.events import DomainEvent


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    def send(self, mail: OutgoingMail) -> None:
        """Deliver now or raise; called only after the transaction that caused it committed."""
        ...


class KeyVault(Protocol):
    """Envelope encryption under a key-encryption key the vault never hands out.

    ``context`` is bound as associated data, so a sealed value moved to another row or
    purpose fails to open.
    """

    def seal(self, plaintext: bytes, *, context: bytes) -> bytes: ...

    def open(self, sealed: bytes, *, context: bytes) -> bytes: ...


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


class SessionRepository(Protocol):
    def add(self, session: Session) -> None: ...

    def get(self, session_id: UUID) -> Session | None: ...

    def get_by_token_hash(self, token_hash: str) -> Session | None: ...

    def list_open(self, account_id: UUID) -> Sequence[Session]: ...


class ApiTokenRepository(Protocol):
    def add(self, token: ApiToken) -> None: ...

    def get(self, token_id: UUID) -> ApiToken | None: ...

    def get_by_token_hash(self, token_hash: str) -> ApiToken | None: ...

    def list_for_account(self, account_id: UUID) -> Sequence[ApiToken]: ...


class DeviceTokenRepository(Protocol):
    def add(self, token: DeviceToken) -> None: ...

    def get_by_token_hash(self, token_hash: str) -> DeviceToken | None: ...

    def list_for_camera(self, camera_id: UUID) -> Sequence[DeviceToken]: ...


class OneTimeTokenRepository(Protocol):
    def add(self, token: OneTimeToken) -> None: ...

    def get_by_token_hash(self, token_hash: str) -> OneTimeToken | None: ...

    def list_open(self, account_id: UUID) -> Sequence[OneTimeToken]: ...


class RecoveryCodeRepository(Protocol):
    def add(self, code: RecoveryCode) -> None: ...

    def list_unused(self, account_id: UUID) -> Sequence[RecoveryCode]: ...


class UnitOfWork(Protocol):
    """One transaction: the state changes and the audit events they produce commit together."""

    clock: Clock
    accounts: AccountRepository
    agencies: AgencyRepository
    cameras: CameraRepository
    sessions: SessionRepository
    api_tokens: ApiTokenRepository
    device_tokens: DeviceTokenRepository
    one_time_tokens: OneTimeTokenRepository
    recovery_codes: RecoveryCodeRepository

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def record(self, event: DomainEvent) -> None:
        """Record an event that belongs to no entity (a refused sign-in, say)."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
