"""Agencies: the organisations that may ask residents for footage."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from uuid import UUID

from porchlight.kernel.domain.entity import Entity
from porchlight.kernel.domain.errors import Conflict, ValidationFailed
from porchlight.kernel.domain.events import DomainEvent
from porchlight.kernel.domain.geo import LatLon

MAX_JURISDICTION_RADIUS_M = 500_000


class AgencyKind(enum.StrEnum):
    MUNICIPAL_POLICE = "municipal_police"
    COUNTY_SHERIFF = "county_sheriff"
    STATE = "state"
    FEDERAL = "federal"
    FIRE_EMS = "fire_ems"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    AgencyKind.MUNICIPAL_POLICE: "Municipal police",
    AgencyKind.COUNTY_SHERIFF: "County sheriff",
    AgencyKind.STATE: "State agency",
    AgencyKind.FEDERAL: "Federal agency",
    AgencyKind.FIRE_EMS: "Fire / EMS",
    AgencyKind.OTHER: "Other",
}


@dataclass(frozen=True, kw_only=True)
class AgencyCreated(DomainEvent):
    kind: ClassVar[str] = "agency.created"
    agency_id: UUID
    agency_kind: str


@dataclass(frozen=True, kw_only=True)
class AgencyVerified(DomainEvent):
    kind: ClassVar[str] = "agency.verified"
    agency_id: UUID


@dataclass(eq=False)
class Agency(Entity):
    id: UUID
    name: str
    kind: AgencyKind
    center_lat: float
    center_lon: float
    radius_m: int
    created_at: datetime
    verified_at: datetime | None = None

    @classmethod
    def create(
        cls,
        *,
        id: UUID,
        name: str,
        kind: AgencyKind,
        center: LatLon,
        radius_m: int,
        now: datetime,
        actor_id: UUID | None,
    ) -> Agency:
        name = " ".join(name.split())
        if not 2 <= len(name) <= 120:
            raise ValidationFailed("agency name must be 2 to 120 characters", field="name")
        if not 100 <= radius_m <= MAX_JURISDICTION_RADIUS_M:
            raise ValidationFailed(
                f"jurisdiction radius must be 100 to {MAX_JURISDICTION_RADIUS_M} metres",
                field="radius_m")
        agency = cls(
            id=id,
            name=name,
            kind=kind,
            center_lat=center.lat,
            center_lon=center.lon,
            radius_m=radius_m,
            created_at=now,
        )
        agency.record(AgencyCreated(actor_id=actor_id, agency_id=id, agency_kind=kind))
        return agency

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def center(self) -> LatLon:
        return LatLon(self.center_lat, self.center_lon)

    def verify(self, *, now: datetime, actor_id: UUID | None) -> None:
        if self.is_verified:
            raise Conflict("the agency is already verified")
        self.verified_at = now
        self.record(AgencyVerified(actor_id=actor_id, agency_id=self.id))
