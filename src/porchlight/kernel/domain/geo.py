"""Geographic value objects and the haversine distance used by every radius rule."""

from __future__ import annotations

import math
from dataclasses import dataclass

from porchlight.kernel.domain.errors import ValidationFailed

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG), the radius the spec fixes
# The largest circle the camera lookup serves; delivery radii are capped far below it
# (650 m by default), and the deployment's policy may not allow more.
MAX_SEARCH_RADIUS_M = 50_000


@dataclass(frozen=True)
class LatLon:
    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise ValidationFailed("latitude must be between -90 and 90", field="location")
        if not (math.isfinite(self.lon) and -180.0 <= self.lon <= 180.0):
            raise ValidationFailed("longitude must be between -180 and 180", field="location")


def haversine_m(a: LatLon, b: LatLon) -> float:
    """Great-circle distance in metres on a sphere of radius EARTH_RADIUS_M."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    h = min(1.0, h)
    # atan2 stays accurate near antipodes, where asin(sqrt(h)) loses digits
    return 2 * EARTH_RADIUS_M * math.atan2(math.sqrt(h), math.sqrt(1.0 - h))


def within_radius(centre: LatLon, radius_m: float, location: LatLon) -> bool:
    """The exact filter: haversine distance (R = 6,371,008.8 m) at most the radius."""
    return haversine_m(centre, location) <= radius_m
