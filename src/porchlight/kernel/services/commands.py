"""Commands: what a caller asks the system to do, already parsed into domain values."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from porchlight.accounts.domain.accounts import StaffRole
from porchlight.accounts.domain.agencies import AgencyKind
from porchlight.footage.domain.cameras import DEFAULT_RETENTION_DAYS
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


@dataclass(frozen=True)
class RegisterCamera:
    name: str
    location: LatLon
    opted_in: bool = False
    retention_days: int = DEFAULT_RETENTION_DAYS


@dataclass(frozen=True)
class SetCameraOptIn:
    camera_id: UUID
    opted_in: bool


@dataclass(frozen=True)
class SetCameraRetention:
    camera_id: UUID
    retention_days: int
