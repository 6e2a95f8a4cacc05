"""Which resolution-10 H3 ids can hold a camera within a radius: the cover behind delivery.

Cameras store their H3 resolution-10 cell as a 64-bit integer in a B-tree index. A circle
is turned into a handful of contiguous id ranges, so the database answers it with a few
index range scans; the exact haversine check (``within_radius``) then keeps exactly the
cameras inside. This module is pure (h3 and arithmetic, no SQL): the database adapter
runs the ranges, and the tests can check the cover without a database.

How the cover is built (``cover_circle``):

1. ``grid_disk(origin, k)`` around the centre's own cell, with ``k`` the smallest ring
   count (found from a tight guess) that provably contains the circle: no cell of
   ring k+1 can hold a point within the radius (``_Near`` has the proof). The guess
   comes from the spacing of the cells around the centre; it is checked, not trusted.
2. Cells of the outermost ring that provably cannot touch the circle are dropped (the
   disk is a hexagon around a circle; at 250 m this removes about a third of its area,
   so a third fewer rows to read). The same bound decides it.
3. ``compact_cells`` merges every complete family of seven children into their parent
   (h3's array interface, so the hundreds of cells of a disk never become Python ints).
4. Each compacted cell becomes the contiguous range of resolution-10 ids of its
   descendants (``descendant_range``), and ranges with no valid id between them merge.

With the ranges go the box around the circle and two arithmetic bounds, ``SureInside``
and ``SureOutside``, which let the database drop the rows certainly outside and mark
those certainly inside; steps 1 and 2 use the same bounds, taken for r + REACH_M, so
that nearly every cell is settled without trigonometry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import h3.api.basic_int as h3
import h3.api.memview_int as h3_arrays

from porchlight.kernel.domain.errors import ValidationFailed
from porchlight.kernel.domain.geo import EARTH_RADIUS_M, MAX_SEARCH_RADIUS_M, LatLon

RESOLUTION = 10
MAX_RADIUS_M = float(MAX_SEARCH_RADIUS_M)

# How far a point of a resolution-10 cell can be from the cell's centre (its "reach").
# H3 draws each resolution as a regular hexagonal lattice on the gnomonic projection of
# every icosahedron face (the plane touching the unit sphere at the face centre); at
# resolution 10, a Class II resolution, adjacent centres are RES0_U_GNOMONIC / 7**5 apart
# there (h3lib's constants.h), so a cell's points lie within spacing/√3 of its centre in
# that plane (pentagons are smaller). Going back to the sphere shrinks every length: the
# inverse projection scales by cos θ and cos² θ, θ being the angle from the face centre.
# Faces unfold along their shared edges into one lattice, so a cell that straddles an edge
# obeys the same bound. Measured: the largest cells, at face centres where the scale is
# exactly 1, reach 83.5953455 m, equal to the bound to 9 digits; 200,000 random cells
# stay below it. The 1 cm margin is far above float rounding and irrelevant to the cover.
_RES0_U_GNOMONIC = 0.38196601125010500003
REACH_M = _RES0_U_GNOMONIC / 7**5 / math.sqrt(3) * EARTH_RADIUS_M + 0.01

_RES_SHIFT = 52
_RES_MASK = 0xF << _RES_SHIFT
_RES_10 = RESOLUTION << _RES_SHIFT


def _digit_shift(digit: int) -> int:
    """Bit offset of H3 digit 1..15: digit 1 sits just below the base cell, digit 15 at 0."""
    return (15 - digit) * 3


# For a cell of resolution r: the bits of digits r+1..10 (the ones a descendant chooses).
_FREE_DIGITS = tuple(
    sum(7 << _digit_shift(d) for d in range(r + 1, RESOLUTION + 1)) for r in range(RESOLUTION + 1)
)
_ALL_SIXES = tuple(
    sum(6 << _digit_shift(d) for d in range(r + 1, RESOLUTION + 1)) for r in range(RESOLUTION + 1)
)
_DIGIT_10_SHIFT = _digit_shift(RESOLUTION)
_DIGIT_10 = 1 << _DIGIT_10_SHIFT  # one unit of digit 10
_TEN_DIGITS = (1 << 3 * RESOLUTION) - 1  # digits 1..10, shifted down to bit 0
_TEN_SIXES = int("6" * RESOLUTION, 8)
# What ``successor`` adds to an id whose last t of digits 1..10 are 6.
_CARRY = tuple(sum(1 << (_DIGIT_10_SHIFT + 3 * i) for i in range(t)) + _DIGIT_10
               for t in range(RESOLUTION + 1))


@dataclass(frozen=True)
class Box:
    """A latitude/longitude box (degrees, inclusive) that holds the whole circle."""

    south: float
    north: float
    west: float
    east: float


TINY = 1e-100  # the floor of a coordinate difference in the sure-inside test


@dataclass(frozen=True)
class SureInside:
    """A test made of plain arithmetic on degrees that a point of the box is within the
    radius: Δlat² + weight·Δlon² ≤ limit. When it fails the point may still be inside,
    and only then does the exact haversine have to decide.

    Why it never accepts a point outside: with Δφ, Δλ in radians,
    hav θ = sin²(Δφ/2) + cos φ0·cos φ·sin²(Δλ/2) ≤ (Δφ/2)² + cos φ0·c·(Δλ/2)², because
    sin² x ≤ x² for every x (so also for a Δλ taken the long way round the antimeridian)
    and 0 ≤ cos φ ≤ c, the largest cosine of any latitude in the box. A point is within r
    exactly when hav θ ≤ sin²(r / 2R). In degrees that reads Δlat² + w·Δlon² ≤
    sin²(r / 2R)·(360/π)² with w = cos φ0·c.

    The limit is then lowered by a relative margin, because the reference is not exact
    either: ``haversine_m`` converts each latitude to radians before subtracting, which
    costs it up to ~1e-15 rad in Δφ (and as much in Δλ), a relative error of up to
    ~4e-15/δ in the haversine for a circle of angular radius δ = r/R: 3e-8 at 1 m, where
    a camera one float step outside the circle near a pole was once accepted with a
    fixed 1e-9. The margin is 1e-9 + 2e-14/δ, five times that, so a point the test
    accepts is one ``haversine_m`` puts within the radius. At delivery radii the bound
    is still tight (to ~1e-8 from sin x ≈ x and ~1e-4 from c): only points within
    centimetres of the edge, and those outside it, are left to the exact check.
    """

    lat: float
    lon: float
    weight: float
    limit: float

    def holds(self, lat: float, lon: float) -> bool:
        """The test as the database runs it (the SQL has the same operations in this order).

        Each difference counts as at least ``TINY``: PostgreSQL raises an error, rather than
        rounding to zero, when a product underflows, and a camera registered at latitude
        1e-170 would otherwise break every lookup near the equator. Flooring a difference
        only makes the sum larger, so the test stays sound.
        """
        dlat, dlon = max(abs(lat - self.lat), TINY), max(abs(lon - self.lon), TINY)
        return dlat * dlat + self.weight * dlon * dlon <= self.limit


def sure_inside(centre: LatLon, radius_m: float, box: Box) -> SureInside:
    """The ``SureInside`` test for the points of ``box`` (which must hold the circle)."""
    if box.south <= 0.0 <= box.north:
        widest = 1.0
    else:
        widest = math.cos(math.radians(min(abs(box.south), abs(box.north))))
    weight = math.cos(math.radians(centre.lat)) * widest
    angle = radius_m / EARTH_RADIUS_M
    if angle == 0.0:
        return SureInside(centre.lat, centre.lon, weight, -1.0)  # nothing is sure
    margin = 1e-9 + 2e-14 / angle
    limit = _haversine_of(radius_m) * (360.0 / math.pi) ** 2 * (1 - margin)
    return SureInside(centre.lat, centre.lon, weight, limit)


NEVER = 1e300  # a SureOutside limit no point of the box exceeds: the test never holds
# Below this angle (6.4 µm) SureOutside refuses nothing. The margin's 2e-14/δ covers the
# reference's rounding while that rounding (~1e-15 rad in Δφ) is small beside the
# circle; for circles of a few picometres it is not, the haversine of two points one
# float step apart can come out 0, and a test refusing by the bound would lose them
# (found in review at r = 1e-12 m). Nothing is lost by reading every row of the box.
_TOO_SMALL_TO_REFUSE = 1e-12


@dataclass(frozen=True)
class SureOutside:
    """The other side of ``SureInside``: Δlat² + weight·Δlon² > limit says a point of the
    box is certainly farther than the radius, so the database can leave it out. When it
    fails the point may still be outside, and the exact haversine decides.

    Why it never refuses a point inside: with a = Δφ/2 and b = Δλ/2 in radians,
    hav θ = sin²a + cos φ0·cos φ·sin²b ≥ (1 - m)·(a² + cos φ0·c·b²), because
    sin² x ≥ x²(1 - x²/3) for |x| ≤ π/2 and cos φ ≥ c, the smallest cosine of any
    latitude in the box; m = x_max²/3, x_max being the box's larger side in radians,
    halved, which bounds |a| and |b| for any two points of a box that does not wrap
    around in longitude. (A box that does wrap gets ``NEVER``, and so does a circle of
    a few micrometres, see ``_TOO_SMALL_TO_REFUSE``.) In degrees: outside when
    Δlat² + w·Δlon² > sin²(r / 2R)·(360/π)² / (1 - m) with w = cos φ0·c. The limit is
    raised by the same relative margin as ``SureInside``'s is lowered, for the same
    reason (the reference's own rounding), and is at least 1e-150, so flooring each
    difference at ``TINY`` (which adds at most ~1e-200) cannot push a point over it.
    """

    weight: float
    limit: float

    def holds(self, lat: float, lon: float, centre: LatLon) -> bool:
        """The test as the database runs it (same operations, same floors)."""
        dlat, dlon = max(abs(lat - centre.lat), TINY), max(abs(lon - centre.lon), TINY)
        return dlat * dlat + self.weight * dlon * dlon > self.limit


def sure_outside(centre: LatLon, radius_m: float, box: Box) -> SureOutside:
    """The ``SureOutside`` test for the points of ``box`` (which must hold the circle)."""
    angle = radius_m / EARTH_RADIUS_M
    if (box.west == -180.0 and box.east == 180.0) or angle < _TOO_SMALL_TO_REFUSE:
        return SureOutside(0.0, NEVER)
    narrowest = min(math.cos(math.radians(box.south)), math.cos(math.radians(box.north)))
    weight = math.cos(math.radians(centre.lat)) * narrowest
    half_side = max(box.north - box.south, box.east - box.west) * math.pi / 360.0
    shrink = 1.0 - half_side * half_side / 3.0
    margin = 1e-9 + 2e-14 / angle
    limit = _haversine_of(radius_m) * (360.0 / math.pi) ** 2 / shrink * (1 + margin)
    return SureOutside(weight, max(limit, 1e-150))


@dataclass(frozen=True)
class CellRanges:
    """Sorted, disjoint, inclusive [lo, hi] ranges of resolution-10 ids covering a circle.

    ``box`` also holds the circle: a cheap extra filter for the rows the ranges return
    (the cover overshoots the circle by up to a cell; the box trims its corners);
    ``outside`` lets the database drop the rows certainly beyond the radius, and ``sure``
    tells it which of the rest certainly lie within it.
    ``cells`` counts the compacted cells the ranges came from and ``k`` is the grid-disk
    size used; both are there to explain a query plan or a benchmark, not to be relied on.
    """

    ranges: tuple[tuple[int, int], ...]
    box: Box
    sure: SureInside
    outside: SureOutside
    cells: int
    k: int

    def contains(self, cell: int) -> bool:
        """Whether a resolution-10 id falls in one of the ranges (used by tests and checks)."""
        return any(lo <= cell <= hi for lo, hi in self.ranges)


class DistanceFrom:
    """``haversine_m`` from a fixed centre, for many points, without a LatLon per point.

    The same operations in the same order as ``porchlight.kernel.domain.geo.haversine_m`` (the
    reference; a property test checks the results are bit-for-bit equal), with the
    centre's latitude terms computed once: the exact filter runs it for every row.
    """

    __slots__ = ("_cos_phi", "_lon", "_phi")

    def __init__(self, centre: LatLon) -> None:
        self._phi = math.radians(centre.lat)
        self._cos_phi = math.cos(self._phi)
        self._lon = centre.lon

    def __call__(self, lat: float, lon: float) -> float:
        phi2 = math.radians(lat)
        dphi = phi2 - self._phi
        dlmb = math.radians(lon - self._lon)
        h = math.sin(dphi / 2) ** 2 + self._cos_phi * math.cos(phi2) * math.sin(dlmb / 2) ** 2
        h = min(1.0, h)
        return 2 * EARTH_RADIUS_M * math.atan2(math.sqrt(h), math.sqrt(1.0 - h))

    def haversine(self, lat: float, lon: float) -> float:
        """sin²(θ/2) of the central angle θ: grows with the distance and is cheaper to get,
        so bounds on many cells are compared in this form (see ``_haversine_of``)."""
        phi2 = math.radians(lat)
        return (math.sin((phi2 - self._phi) / 2) ** 2
                + self._cos_phi * math.cos(phi2) * math.sin(math.radians(lon - self._lon) / 2) ** 2)


def _haversine_of(distance_m: float) -> float:
    """sin²(θ/2) for a distance; d ≤ L exactly when haversine ≤ _haversine_of(L) (θ < π).
    Rounding differs from the distance form by ~1e-16 relative, far inside REACH_M's 1 cm."""
    return math.sin(distance_m / (2 * EARTH_RADIUS_M)) ** 2


def cover_circle(centre: LatLon, radius_m: float) -> CellRanges:
    """The id ranges that hold every resolution-10 cell touching the circle."""
    k, (origin, inner_k), outer = _cover(centre, radius_m)
    ranges, cells = _disk_ranges(origin, inner_k, outer)
    box = bounding_box(centre, radius_m)
    return CellRanges(ranges=tuple(ranges), box=box, sure=sure_inside(centre, radius_m, box),
                      outside=sure_outside(centre, radius_m, box), cells=cells, k=k)


def _disk_ranges(origin: int, inner_k: int, outer: list[int]) -> tuple[list[tuple[int, int]], int]:
    """The merged ranges of ``grid_disk(origin, inner_k)`` and the ``outer`` cells, and
    how many (compacted) cells they came from.

    Only the inner disk is compacted; the outer ring's cells join as they are. The merged
    ranges are the same either way (an outer cell that completes a family of seven gets
    a range adjacent to its siblings', and ``merge_ranges`` joins adjacent ranges), and
    compacting the disk alone stays in h3's C arrays, which is what makes it cheap.
    """
    inner = h3_arrays.compact_cells(h3_arrays.grid_disk(origin, inner_k))
    compacted = memoryview(inner).tolist()
    # A resolution-10 cell (all of the outer ring's, most of the inner disk's) is its own range.
    ranges = merge_ranges(sorted([
        (cell, cell) if cell & _RES_MASK == _RES_10 else descendant_range(cell)
        for cell in compacted] + [(cell, cell) for cell in outer]))
    return ranges, len(compacted) + len(outer)


def bounding_box(centre: LatLon, radius_m: float) -> Box:
    """The smallest latitude/longitude box around the circle, widened by a hair.

    A point at angular distance ≤ δ differs in latitude by at most δ, and (when the
    circle holds no pole) in longitude by at most asin(sin δ / cos φ0). Near a pole or
    across the antimeridian the longitude stays unrestricted. The 1e-9 relative widening
    dwarfs the rounding of both this and the haversine (~1e-15).
    """
    delta = radius_m / EARTH_RADIUS_M * (1 + 1e-9) + 1e-15
    south, north = centre.lat - math.degrees(delta), centre.lat + math.degrees(delta)
    if south <= -90.0 or north >= 90.0:
        return Box(max(south, -90.0), min(north, 90.0), -180.0, 180.0)
    ratio = math.sin(delta) / math.cos(math.radians(centre.lat))
    spread = math.degrees(math.asin(min(1.0, ratio))) * (1 + 1e-9) + 1e-12
    west, east = centre.lon - spread, centre.lon + spread
    if ratio >= 1.0 or west < -180.0 or east > 180.0:
        return Box(south, north, -180.0, 180.0)
    return Box(south, north, west, east)


def cover_cells(centre: LatLon, radius_m: float) -> tuple[int, list[int]]:
    """k, and the cells of ``grid_disk(origin, k)`` that may hold a point of the circle.

    Every cell of the disk is kept except those of its outermost ring that provably
    hold no point within the radius (see ``_Near``).
    """
    k, (origin, inner_k), outer = _cover(centre, radius_m)
    return k, [*h3.grid_disk(origin, inner_k), *outer]


def _cover(centre: LatLon, radius_m: float) -> tuple[int, tuple[int, int], list[int]]:
    """k, the inner disk as (origin, k - 1), and the cells of ring k that touch the circle.

    k is the smallest the ring check allows: starting from the guess, grow it while ring
    k+1 holds a cell that may touch the circle, then shrink it while ring k holds none
    (ring k is then clear, so k - 1 is enough). A correct guess costs two ring checks.
    """
    _check_radius(radius_m)
    origin = h3.latlng_to_cell(centre.lat, centre.lon, RESOLUTION)
    near = _Near(centre, radius_m)
    k = _first_guess(near.distance, origin, radius_m)
    while near.ring(origin, k + 1, first_only=True):
        k += 1
    outer = near.ring(origin, k)
    while not outer and k > 1:
        k -= 1
        outer = near.ring(origin, k)
    return k, (origin, k - 1), outer


def _ring(origin: int, k: int) -> list[int]:
    """``grid_ring`` through h3's array interface: the same cells, in the same order, as
    the list interface gives, for under half its cost (one C-level copy to a list)."""
    return memoryview(h3_arrays.grid_ring(origin, k)).tolist()


def _check_radius(radius_m: float) -> None:
    if not (math.isfinite(radius_m) and 0.0 <= radius_m <= MAX_RADIUS_M):
        raise ValidationFailed(f"search radius must be between 0 and {MAX_RADIUS_M:.0f} m")


def _first_guess(distance: DistanceFrom, origin: int, radius_m: float) -> int:
    """A tight starting k, from the spacing of the cells around the centre.

    On a regular hexagonal grid whose centres are s = √3·e apart, the centres of ring n
    lie at least 1.5·n·e from the origin's centre (along the flat sides of the big
    hexagon), so ring n starts about 1.5·n·e - d0 - REACH_M from a query point d0 away
    from the origin's centre. Ring k+1 clears the circle once that exceeds r:
    k = ⌊(r + REACH_M + d0) / 1.5e⌋. Only a guess (H3 cells are not regular and shrink
    towards pentagons): the caller grows k until the check passes and shrinks it while
    the outer ring is clear. On 2,000 random circles (radii 50 m - 2 km, latitudes up
    to 80°) the guess was exact 75% of the time, one too high 6% and one too low 19%, so
    two or three ring checks settle it. (The smallest neighbour id is taken, not the
    first h3 lists, so the guess does not depend on the order of the ring: h3-py's
    arrays move cells around to drop empty slots next to pentagons.)
    """
    origin_centre = LatLon(*h3.cell_to_latlng(origin))
    neighbour = min(_ring(origin, 1))
    e = DistanceFrom(origin_centre)(*h3.cell_to_latlng(neighbour)) / math.sqrt(3)
    d0 = distance(origin_centre.lat, origin_centre.lon)
    return max(1, math.floor((radius_m + REACH_M + d0) / (1.5 * e)))


class _Near:
    """Which cells may hold a point within the radius; the others provably hold none.

    A point q of cell x within the radius would give, by the triangle inequality,
    d(centre, centre(x)) ≤ d(centre, q) + d(q, centre(x)) ≤ r + REACH_M. So a cell is
    *near* when its centre is within r + REACH_M. This runs for every cell of two rings
    per lookup, so most cells are settled with the arithmetic bounds of the lookup
    itself, for the distance r + REACH_M: outside its ``bounding_box`` or
    ``SureOutside``, not near; ``SureInside``, near. Only centres within a hair of that
    distance get the exact haversine (any of them may be counted near: REACH_M's 1 cm
    of slack covers rounding).

    Why ring k+1 being clear (``any`` is false) means ``grid_disk(origin, k)`` holds every
    point within r: suppose such a point p lay in a cell at grid distance > k. Walk the
    great-circle arc from the centre to p; every point of it is within r of the centre,
    and it starts in ``origin`` (grid distance 0). Each time the walk leaves a cell it
    enters one sharing a boundary point with it, and H3 cells meeting at a point are
    neighbours (three meet at each vertex, pairwise adjacent), so the grid distance
    changes by at most one per step: the walk visits a cell of ring k+1 at a point
    within r, and that cell would be near.
    """

    __slots__ = ("_constants", "_limit", "distance")

    def __init__(self, centre: LatLon, radius_m: float) -> None:
        self.distance = DistanceFrom(centre)
        reach = radius_m + REACH_M
        self._limit = _haversine_of(reach)
        box = bounding_box(centre, reach)
        inside, outside = sure_inside(centre, reach, box), sure_outside(centre, reach, box)
        self._constants = (box.south, box.north, box.west, box.east, centre.lat, centre.lon,
                           inside.weight, inside.limit, outside.weight, outside.limit)

    def ring(self, origin: int, k: int, *, first_only: bool = False) -> list[int]:
        """The cells of ``grid_ring(origin, k)`` that may hold a point within the radius
        (only the first one found, with ``first_only``)."""
        return self._near(_ring(origin, k), first_only=first_only)

    def _near(self, cells: list[int], *, first_only: bool) -> list[int]:
        """The near cells (only the first, with ``first_only``): the box, ``SureInside``
        and ``SureOutside`` written out in the loop, the hot loop of the lookup. (The
        floors they apply for the database are not needed in Python, where an
        underflow rounds to zero.)"""
        south, north, west, east, lat0, lon0, wide, near, narrow, far = self._constants
        exact, limit = self.distance.haversine, self._limit
        found = []
        for cell in cells:
            lat, lon = h3.cell_to_latlng(cell)
            if not (south <= lat <= north and west <= lon <= east):
                continue
            dlat, dlon = lat - lat0, lon - lon0
            dlat, dlon = dlat * dlat, dlon * dlon
            if dlat + wide * dlon > near and (dlat + narrow * dlon > far
                                              or exact(lat, lon) > limit):
                continue
            found.append(cell)
            if first_only:
                break
        return found


def descendant_range(cell: int) -> tuple[int, int]:
    """The inclusive range [lo, hi] of resolution-10 ids that holds every descendant of ``cell``.

    An H3 cell id is, from the top: a reserved bit, a 4-bit mode (1 = cell), 3 reserved
    bits, the 4-bit resolution, the 7-bit base cell, then fifteen 3-bit digits. A cell
    of resolution r has digits 1..r set and digits r+1..15 all 7. Its resolution-10
    descendants share mode, base cell and digits 1..r, carry resolution 10, choose
    digits r+1..10 from 0..6 and keep digits 11..15 at 7. So ``lo`` (resolution field
    10, digits r+1..10 = 0) and ``hi`` (the same digits = 6) bound every descendant,
    because the integer order is the order of (base cell, digit 1, ..., digit 15).

    The range also holds ids that are not descendants, but none of them is a valid
    resolution-10 cell: an integer between lo and hi shares their common prefix (mode,
    resolution 10, base cell, digits 1..r), so if it were a valid resolution-10 cell it
    would be a descendant. The rest have a digit 7 among digits r+1..10, or digits 11..15
    that are not all 7, which H3 rejects; under a pentagon the ids of the deleted
    sub-sequence (first non-zero digit 1) are invalid as well. The ``cameras.h3_cell``
    column only ever holds ``latlng_to_cell`` results, i.e. valid resolution-10 cells,
    so those ids never occur in the table.
    """
    r = (cell & _RES_MASK) >> _RES_SHIFT
    lo = (cell & ~_RES_MASK & ~_FREE_DIGITS[r]) | (RESOLUTION << _RES_SHIFT)
    return lo, lo | _ALL_SIXES[r]


def successor(cell: int) -> int:
    """The next id after a resolution-10 id whose digits 1..10 lie in 0..6: digits 1..10
    counted up by one in base 7 (reading base cell and digits 1..10 as one base-7 number,
    the rank plus one), digits 11..15 left at 7.

    Adding 1 to digit 10 gives 7 where it was 6; adding one more unit there turns that 7
    into 0 and carries one into the digit above (8 in octal). So with t trailing sixes
    the successor is ``cell + _CARRY[t]``; past digit 1 the carry reaches the base cell.
    t comes from the lowest set bit of the digits XOR 666…6: a digit 6 leaves 000.
    """
    differs = ((cell >> _DIGIT_10_SHIFT) & _TEN_DIGITS) ^ _TEN_SIXES
    sixes = RESOLUTION if differs == 0 else ((differs & -differs).bit_length() - 1) // 3
    return cell + _CARRY[sixes]


def merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge sorted ranges that overlap or have no valid resolution-10 id between them:
    the next range starts at or before the ``successor`` of the current one's end. That
    is at least the end plus one unit of digit 10, and exactly that when digit 10 is not
    6, so the successor is only worked out when a carry is possible."""
    merged: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if merged:
            top = merged[-1][1]
            if lo <= top + _DIGIT_10 or (
                (top >> _DIGIT_10_SHIFT) & 7 == 6 and lo <= successor(top)
            ):
                if hi > top:
                    merged[-1] = (merged[-1][0], hi)
                continue
        merged.append((lo, hi))
    return merged

