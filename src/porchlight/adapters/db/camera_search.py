"""The camera lookup by H3 id ranges: one query, the same on SQLite and PostgreSQL.

``porchlight.services.camera_search.cover_circle`` turns a circle into a few sorted,
disjoint ranges of resolution-10 ids. Here they become ONE statement that walks the
B-tree index ``ix_cameras_h3_cover`` once per range; the two databases differ only in
how the list of ranges reaches the query (``_RANGE_JOINS``):

* PostgreSQL: ``unnest`` of two ``bigint[]`` parameters, and for each (lo, hi) a
  ``CROSS JOIN LATERAL`` subquery with ``BETWEEN lo AND hi``. Its ``OFFSET 0`` stops the
  planner from pulling the subquery up into a plain join (which it could then run as
  a hash or merge join over the whole table); kept separate, each range is an index
  range scan.
* SQLite: ``json_each`` over one JSON array of ``[lo, hi]`` pairs. ``CROSS JOIN`` fixes
  the join order in SQLite, so the ranges are the outer loop and ``cameras`` is searched
  with the index for each pair (``tests/integration/test_camera_search_db.py`` checks
  the plan).

The database returns every camera in the cover that also lies in the box around the
circle (plain comparisons on lat and lon, the same SQL on both), each with a flag
``sure_inside``: the ``SureInside`` bound, plain arithmetic on lat and lon, says it is
certainly within the radius. The exact haversine then decides only the rest (in
practice the rows outside the circle and a few centimetres inside its edge). It runs in
Python because the Python haversine is the reference, and floating-point functions in
SQL need not round the same way (nor exist: SQLite's math functions are optional);
the flag needs only +, - and *, which round the same everywhere.

On PostgreSQL the application's connections run with JIT compilation off (see
``porchlight.adapters.db.engine``): the planner cannot see how narrow each range is
(BETWEEN on a lateral column gets the default selectivity), so beyond ~10 ranges its
cost estimate passed ``jit_above_cost`` and every lookup paid about 5 ms of LLVM
compilation for a query that runs in well under a millisecond.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Boolean, Column, Connection, Row, TextualSelect, column, select, text
from sqlalchemy.orm import Session

from porchlight.adapters.db import tables
from porchlight.domain.cameras import Camera
from porchlight.domain.geo import LatLon
from porchlight.services.camera_search import TINY, CellRanges, DistanceFrom, cover_circle

_CAMERAS = tables.cameras.c

_POSTGRES_RANGES = (
    "unnest(CAST(:los AS BIGINT[]), CAST(:his AS BIGINT[])) AS r(lo, hi) "
    "CROSS JOIN LATERAL (SELECT {inner} FROM cameras "
    "WHERE cameras.h3_cell BETWEEN r.lo AND r.hi OFFSET 0) AS c"
)
# The columns the covering index ix_cameras_h3_cover holds: a lookup that needs no others
# is answered from the index alone (an index-only scan), without visiting the table.
COVERED = ("h3_cell", "opted_in", "lat", "lon", "owner_id", "id")
_SQLITE_RANGES = (
    "json_each(:ranges) AS r CROSS JOIN cameras AS c "
    "ON c.h3_cell BETWEEN json_extract(r.value, '$[0]') AND json_extract(r.value, '$[1]')"
)


_RANGE_JOINS = {"postgresql": _POSTGRES_RANGES, "sqlite": _SQLITE_RANGES}
# ``SureInside.holds``, the same operations in the same order. The floor keeps PostgreSQL
# from raising "value out of range: underflow" on absurdly small differences; it is
# spelled greatest() there and max() in SQLite.
_SURE_INSIDE_SQL = (
    "({floor}(abs(c.lat - :sure_lat), :tiny) * {floor}(abs(c.lat - :sure_lat), :tiny) "
    "+ :sure_weight * {floor}(abs(c.lon - :sure_lon), :tiny) "
    "* {floor}(abs(c.lon - :sure_lon), :tiny) <= :sure_limit) AS sure_inside"
)
_FLOOR = {"postgresql": "greatest", "sqlite": "max"}
SURE_INSIDE = column("sure_inside", Boolean)


def lookup_parameters(dialect: str, cover: CellRanges) -> dict[str, Any]:
    """The values bound into ``lookup_statement``: the ranges, in the form the dialect's
    range join takes, and the box around the circle."""
    box, sure = cover.box, cover.sure
    bounds = {"south": box.south, "north": box.north, "west": box.west, "east": box.east,
              "sure_lat": sure.lat, "sure_lon": sure.lon, "sure_weight": sure.weight,
              "sure_limit": sure.limit, "tiny": TINY}
    if dialect == "postgresql":
        los, his = zip(*cover.ranges, strict=True)
        return {**bounds, "los": list(los), "his": list(his)}
    if dialect == "sqlite":
        return {**bounds, "ranges": json.dumps(cover.ranges)}
    raise ValueError(f"the camera lookup supports sqlite and postgresql, not {dialect}")


def lookup_statement(
    dialect: str, *, opted_in_only: bool = True, columns: Sequence[Column[Any]] = tuple(_CAMERAS)
) -> TextualSelect:
    """SELECT the given ``cameras`` columns, then ``sure_inside``, of every camera whose
    cell is in the ranges and whose position is in the box (bind ``lookup_parameters``).

    Typed with the table's columns, so ids, booleans and times come back as Python
    values, and ``select(Camera).from_statement(...)`` can map whole rows. Built once
    per shape: only the bound values change from one lookup to the next.
    """
    return _statement(dialect, opted_in_only, tuple(column.name for column in columns))


@lru_cache(maxsize=64)
def _statement(dialect: str, opted_in_only: bool, names: tuple[str, ...]) -> TextualSelect:
    if dialect not in _RANGE_JOINS:
        raise ValueError(f"the camera lookup supports sqlite and postgresql, not {dialect}")
    sure = _SURE_INSIDE_SQL.replace("{floor}", _FLOOR[dialect])
    selected = ", ".join([*(f"c.{name}" for name in names), sure])
    where = ("c.lat BETWEEN :south AND :north AND c.lon BETWEEN :west AND :east"
             + (" AND c.opted_in" if opted_in_only else ""))
    needed = set(names) | {"lat", "lon", "opted_in"}
    inner = ", ".join(COVERED) if needed <= set(COVERED) else "*"
    joins = _RANGE_JOINS[dialect].replace("{inner}", inner)
    # Only constants and the table's own column names are spliced in; values are bound.
    sql = f"SELECT {selected} FROM {joins} WHERE {where}"  # noqa: S608
    return text(sql).columns(*(_CAMERAS[name] for name in names), SURE_INSIDE)


def cameras_within(
    session: Session, centre: LatLon, radius_m: float, *, opted_in_only: bool = True
) -> list[Camera]:
    """The cameras within ``radius_m`` metres (haversine) of ``centre``, as mapped entities."""
    dialect = session.get_bind().dialect.name
    parameters = lookup_parameters(dialect, cover_circle(centre, radius_m))
    statement = lookup_statement(dialect, opted_in_only=opted_in_only)
    distance = DistanceFrom(centre)
    candidates = session.execute(select(Camera, SURE_INSIDE).from_statement(statement),
                                 parameters)
    return [camera for camera, sure in candidates
            if sure or distance(camera.lat, camera.lon) <= radius_m]


def camera_rows_within(
    connection: Connection,
    centre: LatLon,
    radius_m: float,
    *,
    opted_in_only: bool = True,
    columns: Sequence[Column[Any]] = (_CAMERAS.id, _CAMERAS.owner_id),
) -> list[Row[Any]]:
    """The same lookup without the ORM: rows of ``columns`` (plus lat, lon and
    sure_inside, last)."""
    dialect = connection.dialect.name
    parameters = lookup_parameters(dialect, cover_circle(centre, radius_m))
    statement = lookup_statement(dialect, opted_in_only=opted_in_only,
                                 columns=(*columns, _CAMERAS.lat, _CAMERAS.lon))
    distance = DistanceFrom(centre)
    rows = connection.execute(statement, parameters).all()
    return [row for row in rows if row[-1] or distance(row[-3], row[-2]) <= radius_m]
