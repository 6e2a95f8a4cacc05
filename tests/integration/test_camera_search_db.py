"""The H3 range lookup against a brute-force haversine scan, on SQLite and PostgreSQL.

A few hundred cameras are inserted once per test inside the ``connection`` fixture's
outer transaction (rolled back afterwards); Hypothesis then draws query points and radii,
including radii that put a camera exactly on the circle or one float step either side.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass

import h3.api.basic_int as h3
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.orm import sessionmaker

from porchlight.accounts.domain.accounts import AccountKind
from porchlight.footage.domain.cameras import Camera
from porchlight.kernel.adapters.db import tables
from porchlight.kernel.adapters.db.repositories import SqlCameraRepository
from porchlight.kernel.domain.geo import LatLon, haversine_m
from porchlight.requests.adapters.camera_search import (
    UNNEST_ROWS_GUESS,
    camera_rows_within,
    lookup_parameters,
    lookup_statement,
)
from porchlight.requests.adapters.h3_cover import CellRanges, cover_circle
from tests.integration.conftest import T0
from tests.unit.test_camera_search import centres, destination

PENTAGON = LatLon(*h3.cell_to_latlng(h3.get_pentagons(10)[3]))
FIXED_CLUSTERS = [LatLon(-17.5, 179.995), LatLon(89.995, 10.0), PENTAGON]


@dataclass(frozen=True)
class Placed:
    id: uuid.UUID
    location: LatLon
    opted_in: bool


def _owner(connection: Connection) -> uuid.UUID:
    owner_id = uuid.uuid4()
    connection.execute(insert(tables.accounts).values(
        id=owner_id, email=f"{owner_id.hex}@example.org", display_name="Resident",
        kind=AccountKind.RESIDENT, created_at=T0))
    return owner_id


def _layout(rng: random.Random) -> list[LatLon]:
    """Clusters around random and awkward centres (antimeridian, pole, pentagon), each with
    a Gaussian core of ~700 m and uniform noise out to 3 km, plus a few cameras anywhere."""
    clusters = [LatLon(rng.uniform(-60, 60), rng.uniform(-180, 180)) for _ in range(2)]
    points = []
    for centre in [*clusters, *FIXED_CLUSTERS]:
        points += [destination(centre, rng.uniform(0, 360), abs(rng.gauss(0, 700)))
                   for _ in range(50)]
        points += [destination(centre, rng.uniform(0, 360), 3000 * math.sqrt(rng.random()))
                   for _ in range(20)]
    return points + [LatLon(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(20)]


def _insert_cameras(connection: Connection, seed: int = 20261126) -> list[Placed]:
    rng = random.Random(seed)
    owners = [_owner(connection) for _ in range(3)]
    placed = [Placed(uuid.uuid4(), point, rng.random() < 0.8) for point in _layout(rng)]
    connection.execute(insert(tables.cameras), [
        dict(id=p.id, owner_id=rng.choice(owners), name="Door", lat=p.location.lat,
             lon=p.location.lon, h3_cell=h3.latlng_to_cell(p.location.lat, p.location.lon, 10),
             opted_in=p.opted_in, retention_days=30, created_at=T0)
        for p in placed])
    return placed


def _brute_force(connection: Connection, centre: LatLon, radius: float) -> set[uuid.UUID]:
    """Every row of the table, checked with the reference haversine."""
    c = tables.cameras.c
    rows = connection.execute(select(c.id, c.lat, c.lon, c.opted_in))
    return {row.id for row in rows
            if row.opted_in and haversine_m(centre, LatLon(row.lat, row.lon)) <= radius}


def _queries(placed: list[Placed]) -> st.SearchStrategy[tuple[LatLon, float]]:
    """A centre near a camera and a radius: random, or exactly the distance to that
    camera, or one float step inside or outside it; or a centre anywhere."""
    near = st.tuples(st.sampled_from(placed), st.floats(0, 360), st.floats(0, 1500),
                     st.floats(1.0, 2000.0), st.sampled_from(["random", "on", "in", "out"]))
    anywhere = st.tuples(centres(), st.floats(1.0, 2000.0))
    return st.one_of(near.map(_near_camera), anywhere)


def _near_camera(drawn: tuple[Placed, float, float, float, str]) -> tuple[LatLon, float]:
    camera, bearing, offset, radius, mode = drawn
    centre = destination(camera.location, bearing, offset)
    exact = haversine_m(centre, camera.location)
    by_mode = {"random": radius, "on": exact, "in": math.nextafter(exact, 0),
               "out": math.nextafter(exact, math.inf)}
    return centre, by_mode[mode]


def test_the_range_query_returns_exactly_what_a_brute_force_scan_returns(
    connection: Connection, session_factory: sessionmaker
) -> None:
    placed = _insert_cameras(connection)
    session = session_factory()
    tracked: list[object] = []
    repository = SqlCameraRepository(session, tracked.append)

    @settings(max_examples=60, deadline=None, database=None)
    @given(query=_queries(placed))
    def check(query: tuple[LatLon, float]) -> None:
        centre, radius = query
        expected = _brute_force(connection, centre, radius)
        found = repository.within(centre, radius)
        assert all(isinstance(camera, Camera) for camera in found)
        assert sorted(camera.id for camera in found) == sorted(expected)
        rows = camera_rows_within(connection, centre, radius)
        assert sorted(row.id for row in rows) == sorted(expected)

    check()
    assert tracked, "the lookup hands out tracked entities"


def test_a_camera_on_the_circle_is_found_and_one_float_step_outside_it_is_not(
    connection: Connection, session_factory: sessionmaker
) -> None:
    placed = [p for p in _insert_cameras(connection) if p.opted_in]
    repository = SqlCameraRepository(session_factory(), lambda _: None)
    rng = random.Random(7)
    for camera in rng.sample(placed, 25):
        centre = destination(camera.location, rng.uniform(0, 360), rng.uniform(0, 1000))
        exact = haversine_m(centre, camera.location)
        on = {found.id for found in repository.within(centre, exact)}
        inside = {found.id for found in repository.within(centre, math.nextafter(exact, 0))}
        assert camera.id in on and on == _brute_force(connection, centre, exact)
        assert camera.id not in inside


def test_opted_in_only_leaves_out_cameras_whose_owner_did_not_opt_in(
    connection: Connection, session_factory: sessionmaker
) -> None:
    placed = _insert_cameras(connection)
    repository = SqlCameraRepository(session_factory(), lambda _: None)
    centre, radius = FIXED_CLUSTERS[0], 1500.0
    inside = {p.id: p.opted_in for p in placed if haversine_m(centre, p.location) <= radius}
    assert True in inside.values() and False in inside.values()
    opted_in = {camera.id for camera in repository.within(centre, radius)}
    everyone = {camera.id for camera in repository.within(centre, radius, opted_in_only=False)}
    assert opted_in == {camera_id for camera_id, yes in inside.items() if yes}
    assert everyone == set(inside)


def test_absurdly_precise_coordinates_do_not_break_lookups_nearby(
    connection: Connection, session_factory: sessionmaker
) -> None:
    """A camera registered at latitude 1e-170 (or longitude 1e-170): squaring its distance
    from a centre on the equator underflows, which PostgreSQL reports as an error instead
    of rounding to zero. Every lookup near it must still answer, and answer exactly."""
    owner = _owner(connection)
    odd = [LatLon(1e-170, 10.0), LatLon(0.001, 1e-170), LatLon(-1e-300, 10.002)]
    ids = []
    for location in odd:
        ids.append(uuid.uuid4())
        connection.execute(insert(tables.cameras).values(
            id=ids[-1], owner_id=owner, name="Door", lat=location.lat, lon=location.lon,
            h3_cell=h3.latlng_to_cell(location.lat, location.lon, 10), opted_in=True,
            retention_days=30, created_at=T0))
    repository = SqlCameraRepository(session_factory(), lambda _: None)
    for centre in (LatLon(0.0, 10.0), LatLon(0.0, 0.0), LatLon(1e-170, 1e-170)):
        for radius in (1.0, 650.0):
            expected = _brute_force(connection, centre, radius)
            assert {camera.id for camera in repository.within(centre, radius)} == expected
            rows = camera_rows_within(connection, centre, radius)
            assert {row.id for row in rows} == expected
    assert ids[0] in {c.id for c in repository.within(LatLon(0.0, 10.0), 650.0)}


def _explain(connection: Connection, cover: CellRanges, prefix: str) -> list[str]:
    dialect = connection.dialect.name
    columns = [tables.cameras.c.id, tables.cameras.c.owner_id]  # what the delivery job reads
    sql = prefix + lookup_statement(dialect, columns=columns).element.text
    rows = connection.execute(text(sql), lookup_parameters(dialect, cover))
    return [row[-1] for row in rows]


def test_sqlite_walks_the_h3_index_once_per_range(sqlite_engine: Engine) -> None:
    cover = cover_circle(LatLon(40.7, -74.0), 800.0)
    with sqlite_engine.connect() as connection:
        plan = _explain(connection, cover, "EXPLAIN QUERY PLAN ")
    assert plan[0].startswith("SCAN r VIRTUAL TABLE")
    assert "SEARCH c USING COVERING INDEX ix_cameras_h3_cover (h3_cell>? AND h3_cell<?)" in plan


def test_postgres_keeps_one_index_range_scan_per_range(postgres_engine: Engine) -> None:
    """OFFSET 0 keeps the lateral subquery whole: for each (lo, hi) from unnest, an index
    scan bounded by that pair. (Sequential scans are switched off only so the tiny test
    table does not tempt the planner; the benchmark shows the same plan on 1M rows.)"""
    cover = cover_circle(LatLon(40.7, -74.0), 800.0)
    with postgres_engine.connect() as connection, connection.begin():
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        connection.execute(text("SET LOCAL enable_bitmapscan = off"))
        plan = "\n".join(_explain(connection, cover, "EXPLAIN "))
    assert "Nested Loop" in plan and "Function Scan on r" in plan
    assert "Subquery Scan on c" in plan  # not flattened into a plain join
    assert "Index Only Scan using ix_cameras_h3_cover" in plan  # never visits the table
    assert "Index Cond: ((h3_cell >= r.lo) AND (h3_cell <= r.hi))" in plan


def test_postgres_keeps_the_lookups_generic_plan(postgres_engine: Engine) -> None:
    """psycopg prepares the lookup on its fifth run on a connection; PostgreSQL then
    plans it afresh five times and keeps its generic plan only if that is estimated no
    dearer. Small lookups (one or two ranges here) used to look cheaper to replan, and
    were replanned every time; padded to UNNEST_ROWS_GUESS ranges, they are not."""
    centre = LatLon(40.7, -74.0)
    assert len(cover_circle(centre, 30.0).ranges) < UNNEST_ROWS_GUESS
    with postgres_engine.connect() as connection:
        for step in range(20):
            with connection.begin():
                camera_rows_within(connection, destination(centre, step * 18.0, 40.0), 30.0)
        plans = connection.execute(text(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%unnest%'")).all()
    assert len(plans) == 1
    generic, custom = plans[0]
    assert custom <= 5 and generic >= 10
