"""Response and request shapes of the JSON API; they are not the table shapes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from porchlight.accounts.domain.agencies import Agency


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class AgencyOut(BaseModel):
    id: UUID
    name: str
    kind: str
    kind_label: str
    # [latitude, longitude]: a list of two, as a tuple's prefixItems trips some OpenAPI tools
    jurisdiction_center: list[float] = Field(min_length=2, max_length=2)
    jurisdiction_radius_m: int
    verified: bool
    verified_at: datetime | None

    @classmethod
    def of(cls, agency: Agency) -> AgencyOut:
        return cls(
            id=agency.id,
            name=agency.name,
            kind=agency.kind.value,
            kind_label=agency.kind.label,
            jurisdiction_center=[agency.center_lat, agency.center_lon],
            jurisdiction_radius_m=agency.radius_m,
            verified=agency.is_verified,
            verified_at=agency.verified_at,
        )


class NeighbourhoodOut(BaseModel):
    residents: int
    cameras: int
    cameras_opted_in: int
    agencies: int


class Health(BaseModel):
    status: str
    database: str
