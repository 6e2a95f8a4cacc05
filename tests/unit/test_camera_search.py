"""The H3 cover behind the camera lookup: it holds every point of the circle, and little else.

The point generators here (``centres``, ``destination``) are shared with the database
property test in tests/integration/test_camera_search_db.py.
"""

from __future__ import annotations

import itertools
import math

import h3.api.basic_int as h3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from porchlight.kernel.domain.errors import ValidationFailed
from porchlight.kernel.domain.geo import EARTH_RADIUS_M, LatLon, haversine_m, within_radius
from porchlight.requests.adapters.h3_cover import (
    MAX_RADIUS_M,
    REACH_M,
    RESOLUTION,
    Box,
    DistanceFrom,
    bounding_box,
    cover_cells,
    cover_circle,
    descendant_range,
    merge_ranges,
    successor,
    sure_inside,
    sure_outside,
)

PENTAGON_CENTRES = [LatLon(*h3.cell_to_latlng(p)) for p in h3.get_pentagons(10)]


def _latitudes() -> st.SearchStrategy[float]:
    anywhere = st.floats(-90.0, 90.0)
    near_a_pole = st.floats(89.9, 90.0) | st.floats(-90.0, -89.9)
    return st.one_of(anywhere, near_a_pole)


def _longitudes() -> st.SearchStrategy[float]:
    near_antimeridian = st.floats(179.95, 180.0) | st.floats(-180.0, -179.95)
    return st.one_of(st.floats(-180.0, 180.0), near_antimeridian)


def centres() -> st.SearchStrategy[LatLon]:
    """Points anywhere, near the poles, near the antimeridian, and on H3 pentagons."""
    return st.one_of(
        st.builds(LatLon, _latitudes(), _longitudes()), st.sampled_from(PENTAGON_CENTRES)
    )


def fractions() -> st.SearchStrategy[float]:
    """How far out along a radius: anywhere, exactly on the circle, or just inside it."""
    return st.one_of(st.floats(0.0, 1.0), st.just(1.0), st.floats(0.999, 1.0))


def edge_offsets() -> st.SearchStrategy[list[tuple[float, float]]]:
    """(bearing, fraction of the radius): anywhere out to 1.5 radii, and a hair either
    side of the edge, where the two bounds and the haversine must agree."""
    fraction = st.one_of(st.floats(0.0, 1.5), st.floats(0.999999, 1.000001), st.just(1.0))
    return st.lists(st.tuples(st.floats(0.0, 360.0), fraction), min_size=1, max_size=25)


def destination(start: LatLon, bearing_deg: float, distance_m: float) -> LatLon:
    """The point ``distance_m`` along the great circle leaving ``start`` at ``bearing_deg``."""
    phi1, lmb1 = math.radians(start.lat), math.radians(start.lon)
    theta, delta = math.radians(bearing_deg), distance_m / EARTH_RADIUS_M
    sin_phi2 = math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    phi2 = math.asin(max(-1.0, min(1.0, sin_phi2)))
    lmb2 = lmb1 + math.atan2(math.sin(theta) * math.sin(delta) * math.cos(phi1),
                             math.cos(delta) - math.sin(phi1) * sin_phi2)
    lon = (math.degrees(lmb2) + 540.0) % 360.0 - 180.0
    return LatLon(max(-90.0, min(90.0, math.degrees(phi2))), lon)


def ordinal(cell: int) -> int:
    """The oracle for merging: base cell and digits 1..10 of a resolution-10 id read as
    one base-7 number (digits 11..15, all 7, ignored). Ids whose ordinals touch have no
    valid resolution-10 id between them."""
    value = (cell >> 45) & 0x7F
    for digit in range(1, 11):
        value = value * 7 + ((cell >> ((15 - digit) * 3)) & 7)
    return value


def _in_box(box: Box, point: LatLon) -> bool:
    """Whether the point passes the box filter the query applies before both bounds."""
    return box.south <= point.lat <= box.north and box.west <= point.lon <= box.east


def _cell(point: LatLon) -> int:
    return h3.latlng_to_cell(point.lat, point.lon, 10)


@settings(max_examples=400, deadline=None)
@given(
    centre=centres(),
    radius=st.floats(1.0, 2000.0),
    offsets=st.lists(st.tuples(st.floats(0.0, 360.0), fractions()), min_size=1, max_size=25),
)
def test_the_ranges_hold_the_cell_of_every_point_inside_the_circle(
    centre: LatLon, radius: float, offsets: list[tuple[float, float]]
) -> None:
    cover = cover_circle(centre, radius)
    for bearing, fraction in offsets:
        point = destination(centre, bearing, fraction * radius)
        if haversine_m(centre, point) <= radius:
            assert cover.contains(_cell(point)), (centre, radius, point)


@settings(max_examples=150, deadline=None)
@given(centre=centres(), radius=st.floats(0.0, 2000.0))
def test_ranges_are_sorted_disjoint_and_separated_by_valid_cells(
    centre: LatLon, radius: float
) -> None:
    ranges = cover_circle(centre, radius).ranges
    assert all(lo <= hi for lo, hi in ranges)
    for (_, hi), (lo, _) in itertools.pairwise(ranges):
        assert hi < lo
        # merged as far as possible: ids with digits 0..6 lie in every gap
        assert ordinal(lo) > ordinal(hi) + 1


@settings(max_examples=100, deadline=None)
@given(centre=st.builds(LatLon, st.floats(-80.0, 80.0), st.floats(-180.0, 180.0)),
       radius=st.floats(1.0, 1500.0))
def test_away_from_pentagons_the_ranges_hold_exactly_the_covering_cells(
    centre: LatLon, radius: float
) -> None:
    """Counting the gap-free ids (ordinals) in the ranges gives the cover's cell count."""
    k, cells = cover_cells(centre, radius)
    origin = _cell(centre)
    assert set(h3.grid_disk(origin, k - 1)) <= set(cells) <= set(h3.grid_disk(origin, k))
    if any(h3.is_pentagon(cell) for cell in h3.grid_disk(origin, k)):
        return  # a pentagon's deleted sub-sequence makes the count differ; tested below
    cover = cover_circle(centre, radius)
    assert sum(ordinal(hi) - ordinal(lo) + 1 for lo, hi in cover.ranges) == len(cells)
    assert all(cover.contains(cell) for cell in cells)


@settings(max_examples=60, deadline=None)
@given(point=centres(), resolution=st.sampled_from([7, 8, 9]))
def test_a_cells_range_runs_from_its_first_to_its_last_resolution_10_child(
    point: LatLon, resolution: int
) -> None:
    cell = h3.latlng_to_cell(point.lat, point.lon, resolution)
    children = h3.cell_to_children(cell, 10)
    assert descendant_range(cell) == (min(children), max(children))


def test_a_resolution_10_cell_is_its_own_range() -> None:
    cell = _cell(LatLon(45.5122, -122.6587))
    assert descendant_range(cell) == (cell, cell)


@pytest.mark.parametrize("base_cell", [c for c in h3.get_res0_cells() if h3.is_pentagon(c)][:4])
def test_pentagon_children_have_sane_ranges(base_cell: int) -> None:
    """Under a pentagon base cell: the pentagon child, and a hexagon beside it."""
    pentagon = h3.cell_to_center_child(base_cell, 7)
    assert h3.is_pentagon(pentagon)
    hexagon = next(c for c in h3.cell_to_children(h3.cell_to_parent(pentagon, 6), 7)
                   if not h3.is_pentagon(c))
    for cell in (pentagon, hexagon):
        children = h3.cell_to_children(cell, 10)
        assert descendant_range(cell) == (min(children), max(children))
    # 286 children, not 7³ = 343: the range also spans the deleted ids, which are not cells
    pentagon_children = h3.cell_to_children(pentagon, 10)
    assert len(pentagon_children) == 1 + 5 * (1 + 7 + 49)
    lo, hi = descendant_range(pentagon)
    assert ordinal(hi) - ordinal(lo) + 1 == 7**3 > len(pentagon_children)


def test_a_circle_around_a_pentagon_covers_its_neighbourhood() -> None:
    centre = PENTAGON_CENTRES[0]
    cover = cover_circle(centre, 600.0)
    around = h3.grid_disk(_cell(centre), 3)
    assert all(cover.contains(cell) for cell in around)


@settings(max_examples=300, deadline=None)
@given(point=centres(), bearing=st.floats(0.0, 360.0), distance=st.floats(0.0, 120.0))
def test_no_point_of_a_cell_lies_beyond_its_reach(
    point: LatLon, bearing: float, distance: float
) -> None:
    """The proofs' premise: every point of a cell is within REACH_M of its centre."""
    moved = destination(point, bearing, distance)
    cell = _cell(moved)
    centre = LatLon(*h3.cell_to_latlng(cell))
    assert haversine_m(centre, moved) <= REACH_M


def _farthest_vertex_m(cell: int) -> float:
    centre = LatLon(*h3.cell_to_latlng(cell))
    return max(haversine_m(centre, LatLon(*vertex)) for vertex in h3.cell_to_boundary(cell))


def test_the_reach_bound_is_met_at_a_face_centre_and_nowhere_exceeded() -> None:
    """The largest cells sit at icosahedron face centres (here face 11), where the
    gnomonic scale is 1: they reach the bound to a millimetre, but not beyond it."""
    largest = h3.latlng_to_cell(13.2331, -150.9799, 10)
    assert REACH_M - 0.011 < _farthest_vertex_m(largest) < REACH_M
    around = h3.grid_disk(largest, 4)
    assert max(_farthest_vertex_m(cell) for cell in around) < REACH_M
    pentagon = h3.get_pentagons(10)[0]
    assert _farthest_vertex_m(pentagon) < REACH_M


@settings(max_examples=300, deadline=None)
@given(centre=centres(), radius=st.floats(0.0, 2000.0), bearing=st.floats(0.0, 360.0),
       fraction=fractions())
def test_the_box_holds_every_point_of_the_circle(
    centre: LatLon, radius: float, bearing: float, fraction: float
) -> None:
    point = destination(centre, bearing, fraction * radius)
    box = bounding_box(centre, radius)
    if haversine_m(centre, point) <= radius:
        assert box.south <= point.lat <= box.north
        assert box.west <= point.lon <= box.east


def test_the_box_is_tight_away_from_poles_and_open_across_the_antimeridian() -> None:
    box = bounding_box(LatLon(40.0, -74.0), 800.0)
    assert box.north - box.south == pytest.approx(2 * math.degrees(800 / EARTH_RADIUS_M))
    assert box.east - box.west == pytest.approx(
        2 * math.degrees(800 / EARTH_RADIUS_M) / math.cos(math.radians(40.0)), rel=1e-6)
    assert (bounding_box(LatLon(10.0, 179.999), 800.0).west,
            bounding_box(LatLon(10.0, 179.999), 800.0).east) == (-180.0, 180.0)
    near_pole = bounding_box(LatLon(89.999, 0.0), 800.0)
    assert (near_pole.north, near_pole.west, near_pole.east) == (90.0, -180.0, 180.0)


@settings(max_examples=300, deadline=None)
@given(a=centres(), b=centres())
def test_distance_from_is_bit_for_bit_the_reference_haversine(a: LatLon, b: LatLon) -> None:
    assert DistanceFrom(a)(b.lat, b.lon) == haversine_m(a, b)
    assert within_radius(a, haversine_m(a, b), b)


@pytest.mark.parametrize(("radius", "ratio"), [(250.0, 2.0), (650.0, 1.4), (800.0, 1.35)])
def test_the_cover_is_not_wasteful(radius: float, ratio: float) -> None:
    """k is the smallest the check allows and the outer ring is pruned: the cover's area
    stays close to the circle's (every row in it is read, then mostly kept)."""
    centre = LatLon(40.7128, -74.0060)
    _, cells = cover_cells(centre, radius)
    assert sum(h3.cell_area(cell, "m^2") for cell in cells) < ratio * math.pi * radius**2
    assert len(cover_circle(centre, radius).ranges) < 40


def test_merging_joins_ranges_with_no_valid_id_between_them() -> None:
    parent = _cell(LatLon(45.5122, -122.6587))
    siblings = sorted(h3.cell_to_children(h3.cell_to_parent(parent, 9), 10))
    ranges = [(cell, cell) for cell in siblings]
    assert merge_ranges(ranges) == [(siblings[0], siblings[-1])]
    assert merge_ranges([ranges[0], ranges[2]]) == [ranges[0], ranges[2]]


@pytest.mark.parametrize("radius", [-1.0, math.nan, math.inf, MAX_RADIUS_M + 1])
def test_a_radius_out_of_range_is_refused(radius: float) -> None:
    with pytest.raises(ValidationFailed, match="radius"):
        cover_circle(LatLon(0.0, 0.0), radius)


@settings(max_examples=400, deadline=None)
@given(
    centre=centres(),
    radius=st.floats(0.0, MAX_RADIUS_M),
    offsets=edge_offsets(),
)
def test_the_sure_inside_test_never_accepts_a_point_the_haversine_refuses(
    centre: LatLon, radius: float, offsets: list[tuple[float, float]]
) -> None:
    """Near poles, across the antimeridian, exactly on the edge and a hair either side;
    for the points of the box, as the database applies both."""
    box = bounding_box(centre, radius)
    sure = sure_inside(centre, radius, box)
    for bearing, fraction in offsets:
        point = destination(centre, bearing, fraction * radius)
        in_box = _in_box(box, point)
        if in_box and sure.holds(point.lat, point.lon):
            assert haversine_m(centre, point) <= radius, (centre, radius, point)


def test_a_camera_one_float_step_outside_a_metre_wide_circle_at_the_pole_is_not_sure() -> None:
    """Found by the database property test: near a pole the reference haversine loses
    ~1e-9 of its precision to the radians conversion, more than a fixed margin allowed."""
    centre = LatLon(89.99070468312775, -165.97988406078792)
    camera = LatLon(89.99069569128856, -165.98085151001476)
    radius = math.nextafter(haversine_m(centre, camera), 0)
    sure = sure_inside(centre, radius, bounding_box(centre, radius))
    assert not sure.holds(camera.lat, camera.lon)


@settings(max_examples=300, deadline=None)
@given(centre=centres(), radius=st.floats(0.5, 50.0),
       offsets=st.lists(st.tuples(st.floats(0.0, 360.0), st.floats(0.99999, 1.0)),
                        min_size=1, max_size=25))
def test_the_sure_inside_test_holds_for_small_circles_near_their_edge(
    centre: LatLon, radius: float, offsets: list[tuple[float, float]]
) -> None:
    """Where the reference itself rounds worst: tiny circles, points at the edge, with the
    radius set one float step below each point's own distance."""
    for bearing, fraction in offsets:
        point = destination(centre, bearing, fraction * radius)
        edge = math.nextafter(haversine_m(centre, point), 0)
        if edge <= 0:
            continue
        box = bounding_box(centre, edge)
        in_box = _in_box(box, point)
        assert not (in_box and sure_inside(centre, edge, box).holds(point.lat, point.lon))


@settings(max_examples=200, deadline=None)
@given(centre=st.builds(LatLon, st.floats(-70.0, 70.0), st.floats(-179.0, 179.0)),
       radius=st.floats(10.0, 2000.0), bearing=st.floats(0.0, 360.0),
       fraction=st.floats(0.0, 0.999))
def test_the_sure_inside_test_accepts_nearly_every_point_inside_at_delivery_radii(
    centre: LatLon, radius: float, bearing: float, fraction: float
) -> None:
    """Everything more than 0.1% of the radius inside the edge skips the exact check."""
    point = destination(centre, bearing, fraction * radius)
    assert sure_inside(centre, radius, bounding_box(centre, radius)).holds(point.lat, point.lon)


# --- the other side: SureOutside ----------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    centre=centres(),
    radius=st.floats(0.0, MAX_RADIUS_M),
    offsets=edge_offsets(),
)
def test_the_sure_outside_test_never_refuses_a_point_the_haversine_accepts(
    centre: LatLon, radius: float, offsets: list[tuple[float, float]]
) -> None:
    """The database drops the rows it refuses, so a refusal of a point inside would lose
    a camera: near poles, across the antimeridian, on the edge and a hair either side."""
    box = bounding_box(centre, radius)
    outside = sure_outside(centre, radius, box)
    for bearing, fraction in offsets:
        point = destination(centre, bearing, fraction * radius)
        in_box = _in_box(box, point)
        if in_box and outside.holds(point.lat, point.lon, centre):
            assert haversine_m(centre, point) > radius, (centre, radius, point)


@settings(max_examples=300, deadline=None)
@given(centre=centres(), radius=st.floats(0.5, 50.0),
       offsets=st.lists(st.tuples(st.floats(0.0, 360.0), st.floats(0.99999, 1.00001)),
                        min_size=1, max_size=25))
def test_the_sure_outside_test_holds_for_small_circles_near_their_edge(
    centre: LatLon, radius: float, offsets: list[tuple[float, float]]
) -> None:
    """Where the reference rounds worst: the radius set to each point's own distance, so
    the point is (just) inside and must never be refused."""
    for bearing, fraction in offsets:
        point = destination(centre, bearing, fraction * radius)
        edge = haversine_m(centre, point)
        box = bounding_box(centre, edge)
        in_box = _in_box(box, point)
        assert not (in_box and sure_outside(centre, edge, box).holds(point.lat, point.lon,
                                                                     centre))


@settings(max_examples=200, deadline=None)
@given(centre=st.builds(LatLon, st.floats(-70.0, 70.0), st.floats(-179.0, 179.0)),
       radius=st.floats(10.0, 2000.0), bearing=st.floats(0.0, 360.0),
       fraction=st.floats(1.001, 1.4))
def test_the_sure_outside_test_refuses_nearly_every_point_of_the_box_outside(
    centre: LatLon, radius: float, bearing: float, fraction: float
) -> None:
    """Everything in the box more than 0.1% of the radius beyond the edge is dropped by
    the database; only the hair around the edge reaches the exact check."""
    point = destination(centre, bearing, fraction * radius)
    box = bounding_box(centre, radius)
    in_box = _in_box(box, point)
    assert not in_box or sure_outside(centre, radius, box).holds(point.lat, point.lon, centre)


def test_a_circle_of_picometres_refuses_nothing_the_haversine_rounds_inside() -> None:
    """Found in review: here the reference haversine gives 0.0 for a camera one float
    step away in latitude (both latitudes round to the same radians), so it is inside
    a circle of 1e-12 m, and the bound, whose margin assumed the rounding small beside
    the circle, refused it."""
    centre = LatLon(-63.29480345801964, 179.82924215760613)
    camera = LatLon(-63.29480345801965, 179.82924215760613)
    assert haversine_m(centre, camera) == 0.0
    outside = sure_outside(centre, 1e-12, bounding_box(centre, 1e-12))
    assert not outside.holds(camera.lat, camera.lon, centre)


@settings(max_examples=300, deadline=None)
@given(centre=st.builds(LatLon, st.floats(-89.9, 89.9), st.floats(-179.0, 179.0)),
       exponent=st.floats(-20.0, -2.0))
def test_neither_bound_contradicts_the_haversine_for_tiny_circles(
    centre: LatLon, exponent: float
) -> None:
    """Points a few float steps from the centre, circles from 1e-20 m to 1 cm: where the
    reference's rounding is as large as the circle itself."""
    radius = 10.0**exponent
    box = bounding_box(centre, radius)
    inside, outside = sure_inside(centre, radius, box), sure_outside(centre, radius, box)
    for steps_lat, steps_lon in itertools.product(range(-6, 7), range(-3, 4)):
        point = LatLon(centre.lat + steps_lat * math.ulp(centre.lat),
                       centre.lon + steps_lon * math.ulp(centre.lon))
        distance = haversine_m(centre, point)
        if outside.holds(point.lat, point.lon, centre):
            assert distance > radius, (centre, radius, point)
        in_box = _in_box(box, point)
        if in_box and inside.holds(point.lat, point.lon):
            assert distance <= radius, (centre, radius, point)


def test_a_box_that_wraps_around_refuses_nothing() -> None:
    for centre in (LatLon(89.9999, 10.0), LatLon(10.0, 179.9999)):
        box = bounding_box(centre, 800.0)
        far = LatLon(centre.lat - 0.005, -centre.lon)
        assert not sure_outside(centre, 800.0, box).holds(far.lat, far.lon, centre)


# --- the merge: successor -----------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(point=centres(), sixes=st.integers(0, 10))
def test_the_successor_is_the_next_ordinal(point: LatLon, sixes: int) -> None:
    """Including the carries: the last ``sixes`` digits set to 6 (all ten carry into the
    base cell)."""
    cell = _cell(point)
    for digit in range(RESOLUTION, RESOLUTION - sixes, -1):
        shift = (15 - digit) * 3
        cell = (cell & ~(7 << shift)) | (6 << shift)
    assert ordinal(successor(cell)) == ordinal(cell) + 1


# --- the cover's cell test is the exact one, settled by arithmetic ------------------------


def _exact_cover(centre: LatLon, radius: float) -> tuple[int, set[int]]:
    """k and the cells by the rule of ``_cover``, with the haversine for every cell."""
    origin, reach = _cell(centre), radius + REACH_M

    def near(cell: int) -> bool:
        return haversine_m(centre, LatLon(*h3.cell_to_latlng(cell))) <= reach

    k = 1
    while any(map(near, h3.grid_ring(origin, k + 1))):
        k += 1
    outer = [cell for cell in h3.grid_ring(origin, k) if near(cell)]
    while not outer and k > 1:
        k -= 1
        outer = [cell for cell in h3.grid_ring(origin, k) if near(cell)]
    return k, {*h3.grid_disk(origin, k - 1), *outer}


@settings(max_examples=150, deadline=None)
@given(centre=centres(), radius=st.floats(0.0, 2000.0))
def test_the_cover_is_the_one_the_haversine_alone_gives(centre: LatLon, radius: float) -> None:
    """The arithmetic bounds only save trigonometry: k and every cell are as if each
    cell's centre had gone through the haversine (bar centres within 1e-6 of r + REACH_M,
    where either answer is sound)."""
    k, cells = cover_cells(centre, radius)
    expected_k, expected = _exact_cover(centre, radius)
    differing = set(cells) ^ expected
    reach = radius + REACH_M
    assert all(abs(haversine_m(centre, LatLon(*h3.cell_to_latlng(cell))) - reach) < 1e-6 * reach
               for cell in differing)
    assert k == expected_k or differing
