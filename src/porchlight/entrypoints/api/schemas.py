"""Response and request shapes of the JSON API; they are not the table shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, Field

from porchlight.accounts.domain.agencies import Agency

# Python's whitespace (what the domain collapses with str.split) spelled out one by one:
# the schema's regex dialect (ECMA 262), pydantic's (Rust) and Python's disagree on \s.
_SPACE = "".join(f"\\u{ord(c):04x}" for c in map(chr, range(0x3001)) if c.isspace())
VISIBLE = f"[^{_SPACE}]"


def text(low: int, high: int, default: Any = ...) -> Any:
    """A text field: ``low`` to ``high`` characters with at least one visible one (two when
    ``low`` is 2 or more), so that the domain, which collapses runs of whitespace before it
    measures, does not find it empty. Schema and server check the same raw string."""
    pattern = VISIBLE if low < 2 else f"{VISIBLE}[\\s\\S]*{VISIBLE}"
    return Field(default, min_length=low, max_length=high, pattern=pattern)


# JSON numbers and booleans as JSON Schema reads them: the schema refuses "1" for a number
# and 0 for a flag, so the server does too (FastAPI validates bodies in Python mode, which
# would coerce them); an integer may be written 3.0, as JSON Schema allows.
def _json_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a number")
    return value


Flag = Annotated[bool, Field(strict=True)]
Latitude = Annotated[float, Field(strict=True, ge=-90, le=90)]
Longitude = Annotated[float, Field(strict=True, ge=-180, le=180)]
Whole = Annotated[int, BeforeValidator(_json_number)]


def whole(low: int, high: int | None = None) -> Any:
    """Bounds of a ``Whole`` field, which is required."""
    return Field(ge=low, le=high)


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
