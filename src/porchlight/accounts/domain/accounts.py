"""People: residents, agency staff and platform admins share one account entity."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar
from uuid import UUID

from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import Conflict, ValidationFailed
from porchlight.kernel.domain.events import DomainEvent
from porchlight.kernel.domain.geo import LatLon

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class AccountKind(enum.StrEnum):
    RESIDENT = "resident"
    STAFF = "staff"
    PLATFORM_ADMIN = "platform_admin"


class StaffRole(enum.StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    AGENCY_ADMIN = "agency_admin"


@dataclass(frozen=True, kw_only=True)
class AccountCreated(DomainEvent):
    kind: ClassVar[str] = "account.created"
    account_id: UUID
    account_kind: str
    agency_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class StaffRoleChanged(DomainEvent):
    kind: ClassVar[str] = "staff.role_changed"
    account_id: UUID
    agency_id: UUID
    role: str


@dataclass(frozen=True, kw_only=True)
class AccountDisabled(DomainEvent):
    kind: ClassVar[str] = "account.disabled"
    account_id: UUID


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailed("enter a valid e-mail address", field="email")
    return email


def clean_display_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 80:
        raise ValidationFailed("display name must be 1 to 80 characters", field="display_name")
    return name


@dataclass(eq=False)
class Account(Entity):
    id: UUID
    email: str
    display_name: str
    kind: AccountKind
    created_at: datetime
    agency_id: UUID | None = None
    staff_role: StaffRole | None = None
    home_lat: float | None = None
    home_lon: float | None = None
    password_hash: str | None = None
    disabled_at: datetime | None = None
    email_verified_at: datetime | None = None
    postal_address_sealed: bytes | None = None
    totp_secret_sealed: bytes | None = None
    totp_enabled_at: datetime | None = None
    totp_last_step: int | None = None
    failed_signins: list[str] = field(default_factory=list)
    locked_at: datetime | None = None

    @classmethod
    def resident(
        cls, *, id: UUID, email: str, display_name: str, home: LatLon | None, now: datetime
    ) -> Account:
        account = cls(
            id=id,
            email=normalise_email(email),
            display_name=clean_display_name(display_name),
            kind=AccountKind.RESIDENT,
            created_at=now,
            home_lat=home.lat if home else None,
            home_lon=home.lon if home else None,
        )
        account.record(AccountCreated(actor_id=id, account_id=id, account_kind="resident"))
        return account

    @classmethod
    def staff(
        cls,
        *,
        id: UUID,
        email: str,
        display_name: str,
        agency_id: UUID,
        role: StaffRole,
        now: datetime,
        actor_id: UUID | None,
    ) -> Account:
        account = cls(
            id=id,
            email=normalise_email(email),
            display_name=clean_display_name(display_name),
            kind=AccountKind.STAFF,
            created_at=now,
            agency_id=agency_id,
            staff_role=role,
        )
        account.record(
            AccountCreated(
                actor_id=actor_id, account_id=id, account_kind="staff", agency_id=agency_id
            )
        )
        account.record(
            StaffRoleChanged(actor_id=actor_id, account_id=id, agency_id=agency_id, role=role)
        )
        return account

    @classmethod
    def platform_admin(
        cls, *, id: UUID, email: str, display_name: str, now: datetime
    ) -> Account:
        account = cls(
            id=id,
            email=normalise_email(email),
            display_name=clean_display_name(display_name),
            kind=AccountKind.PLATFORM_ADMIN,
            created_at=now,
        )
        account.record(AccountCreated(account_id=id, account_kind="platform_admin"))
        return account

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def has_mfa(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def is_staff(self) -> bool:
        return self.kind is AccountKind.STAFF

    @property
    def home(self) -> LatLon | None:
        if self.home_lat is None or self.home_lon is None:
            return None
        return LatLon(self.home_lat, self.home_lon)

    def disable(self, *, now: datetime, actor_id: UUID | None) -> None:
        if self.is_disabled:
            raise Conflict("the account is already disabled")
        self.disabled_at = now
        self.record(AccountDisabled(actor_id=actor_id, account_id=self.id))

    def set_staff_role(self, role: StaffRole, *, actor_id: UUID | None) -> None:
        if self.kind is not AccountKind.STAFF or self.agency_id is None:
            raise ValidationFailed("only agency staff have a role")
        if self.staff_role is role:
            return
        self.staff_role = role
        self.record(
            StaffRoleChanged(
                actor_id=actor_id, account_id=self.id, agency_id=self.agency_id, role=role
            )
        )
