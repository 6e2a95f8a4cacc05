"""Coarse places for the feed: H3 resolution-8 cells (about half a kilometre across).

A post is shown at the centre of the resolution-8 cell its author's home lies in, stored
as the cell's 64-bit id (as cameras store theirs, at resolution 10), so the point shown
is the same for every home of the cell and says nothing finer than the cell.

A feed of radius r around a home covers the cells whose centres lie within r + REACH_M
of the home: every post whose author lives within r is in it (its home is at most
REACH_M from its cell's centre), and the feed query is a handful of index lookups, one
per cell, with no distance computed in the database.
"""

from __future__ import annotations

import math
from functools import lru_cache

import h3

from porchlight.feed.domain.posts import Place
from porchlight.kernel.domain.geo import EARTH_RADIUS_M, LatLon, haversine_m

RESOLUTION = 8
# How far a point of a resolution-8 cell can be from the cell's centre: the bound of
# requests.adapters.h3_cover (resolution 10) two resolutions up, spacing times 7 (Class II
# lattice: RES0_U_GNOMONIC / 7**(res/2), over √3, at the scale-1 face centres).
_RES0_U_GNOMONIC = 0.38196601125010500003
REACH_M = _RES0_U_GNOMONIC / 7 ** (RESOLUTION / 2) / math.sqrt(3) * EARTH_RADIUS_M + 0.01
# The closest two resolution-8 centres can be (pentagons and face edges shrink cells):
# used only to size the disk searched, which is then filtered exactly.
_MIN_SPACING_M = 0.5 * REACH_M


def cell_of(point: LatLon) -> int:
    return h3.str_to_int(h3.latlng_to_cell(point.lat, point.lon, RESOLUTION))


@lru_cache(maxsize=65536)
def centre(cell: int) -> LatLon:
    lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
    return LatLon(lat, lon)


def snap(point: LatLon) -> Place:
    """The place a post from ``point`` is shown at: its cell and the cell's centre."""
    cell = cell_of(point)
    shown = centre(cell)
    return Place(cell, shown.lat, shown.lon)


def cells_within(point: LatLon, radius_m: float) -> list[int]:
    """The resolution-8 cells whose centres lie within ``radius_m`` of ``point`` (the
    point's own cell always), nearest first."""
    origin = cell_of(point)
    k = math.ceil(radius_m / _MIN_SPACING_M) + 1
    found = []
    for name in h3.grid_disk(h3.int_to_str(origin), k):
        cell = h3.str_to_int(name)
        distance = haversine_m(point, centre(cell))
        if distance <= radius_m or cell == origin:
            found.append((distance, cell))
    return [cell for _, cell in sorted(found)]


def feed_cells(home: LatLon, radius_m: float) -> list[int]:
    """The cells a feed of ``radius_m`` around ``home`` covers (see the module)."""
    return cells_within(home, radius_m + REACH_M)
