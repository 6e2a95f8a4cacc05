"""The officer's reach preview: how many opted-in cameras a circle reaches, told only as
coarsely as the disclosure rules allow.

The rule: fewer than the minimum group size (5 by default) gives no number at all, only
"fewer than 5" (which covers none); from there up the count is rounded down to a multiple
of the group size and told as the range it stands for: 7 is "5 to 9", 23 is "20 to 24".

The preview is a probe: a circle moved in metre steps finds single opted-in cameras (the
answer flips as the fifth-nearest camera crosses the edge), and a review located homes
that way in seconds. So the preview never counts the circle as drawn: its centre is
snapped to a grid of ``PREVIEW_GRID_M`` and its radius rounded up to a multiple of
``PREVIEW_RADIUS_STEP_M``, which leaves each answer about a ~200 m square and a 100 m band
of distance, never one house. On top of that, the circle must be one a request could ask
for, the agency one that may send requests, each preview is an audit event in the public
log (agency, role, radius and the rounded answer; never the place), and both each staff
account and each agency may preview only so often. What remains is in the README.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar
from uuid import UUID

from porchlight.kernel.domain.errors import ValidationFailed
from porchlight.kernel.domain.events import DomainEvent
from porchlight.kernel.domain.geo import EARTH_RADIUS_M, LatLon

PREVIEW_GRID_M = 200.0
PREVIEW_RADIUS_STEP_M = 100


def snap_centre(point: LatLon, grid_m: float = PREVIEW_GRID_M) -> LatLon:
    """The centre of the grid square ``point`` falls in: squares of ``grid_m`` north-south,
    and as near that east-west as the latitude's band allows (so every point of a square
    gives the same centre, and moving a circle by less than a square changes nothing)."""
    lat_step = math.degrees(grid_m / EARTH_RADIUS_M)
    row = math.floor((point.lat + 90.0) / lat_step)
    lat = min(90.0, -90.0 + (row + 0.5) * lat_step)
    band = max(math.cos(math.radians(lat)), 1e-6)
    lon_step = min(360.0, lat_step / band)
    column = math.floor((point.lon + 180.0) / lon_step)
    lon = -180.0 + (column + 0.5) * lon_step
    return LatLon(lat, ((lon + 180.0) % 360.0) - 180.0)


def preview_radius(radius_m: int, high: int, step: int = PREVIEW_RADIUS_STEP_M) -> int:
    """The radius rounded up to the next ``step`` (never past ``high``)."""
    return min(high, max(step, math.ceil(radius_m / step) * step))


@dataclass(frozen=True)
class Reach:
    at_least: int | None  # None: fewer than ``step``, and no number is told
    step: int
    radius_m: int | None = None  # the radius counted (the drawn one, rounded up)

    @property
    def at_most(self) -> int | None:
        return None if self.at_least is None else self.at_least + self.step - 1

    @property
    def text(self) -> str:
        if self.at_least is None:
            return f"fewer than {self.step} opted-in cameras" if self.step > 1 else (
                "no opted-in cameras")
        if self.step == 1:
            return f"{self.at_least} opted-in camera{'s' if self.at_least != 1 else ''}"
        return f"{self.at_least} to {self.at_most} opted-in cameras"

    @property
    def code(self) -> str:
        """The answer as the audit log keeps it: ``under_5`` or the rounded number."""
        return f"under_{self.step}" if self.at_least is None else str(self.at_least)


def rounded_reach(count: int, group_size: int) -> Reach:
    step = max(1, group_size)
    if count < step:
        return Reach(at_least=None, step=step)
    return Reach(at_least=count - count % step, step=step)


def check_preview_radius(radius_m: int, low: int, high: int) -> None:
    if not low <= radius_m <= high:
        raise ValidationFailed(f"the radius must be {low} to {high} m, as a request's",
                               field="radius_m")


@dataclass(frozen=True, kw_only=True)
class ReachPreviewed(DomainEvent):
    kind: ClassVar[str] = "request.reach_previewed"
    agency_id: UUID
    role: str
    radius_m: int  # the radius counted (rounded up), not the one drawn
    cameras: str  # Reach.code


@dataclass(frozen=True, kw_only=True)
class ReachPreviewRefused(DomainEvent):
    kind: ClassVar[str] = "request.reach_refused"
    agency_id: UUID
    role: str
    reason: str
