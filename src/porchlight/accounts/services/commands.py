"""Commands for accounts: what a caller asks, already parsed into domain values.

Each is a plain frozen dataclass named in the imperative; its use case takes
``(uow, [ports,] actor, command)``. Entrypoints build them (the API from its body, a page
from its form) and never pass loose keyword arguments."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from porchlight.accounts.domain.accounts import StaffRole
from porchlight.accounts.domain.agencies import AgencyKind
from porchlight.kernel.domain.geo import LatLon


@dataclass(frozen=True)
class RegisterResident:
    email: str
    display_name: str
    home: LatLon | None = None
    password: str | None = None


@dataclass(frozen=True)
class CreatePlatformAdmin:
    email: str
    display_name: str
    password: str | None = None


@dataclass(frozen=True)
class CreateAgency:
    name: str
    kind: AgencyKind
    center: LatLon
    radius_m: int


@dataclass(frozen=True)
class VerifyAgency:
    agency_id: UUID


@dataclass(frozen=True)
class AddStaff:
    agency_id: UUID
    email: str
    display_name: str
    role: StaffRole
    password: str | None = None
