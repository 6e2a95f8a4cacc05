"""The camera lookup by H3 id ranges: one query, the same on SQLite and PostgreSQL.

``porchlight.requests.adapters.h3_cover.cover_circle`` turns a circle into a few sorted,
disjoint ranges of resolution-10 ids. Here they become ONE statement that walks the
B-tree index ``ix_cameras_h3_cover`` once per range; the two databases differ only in
how the list of ranges reaches the query (``_RANGE_JOINS``) and in guarding against
underflow (``_SQUARES``):

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
circle (plain comparisons on lat and lon, the same SQL on both) and that the
``SureOutside`` bound does not place beyond the radius. Each row ends with ``edge_lat``,
NULL when the ``SureInside`` bound says the camera is certainly within the radius and
else its latitude, and ``edge_lon``, its longitude; for the rows with a latitude the
exact haversine decides (in practice the cameras within centimetres of the edge, on
either side). It runs in Python because the Python haversine is the reference, and
floating-point functions in SQL need not round the same way (nor exist: SQLite's math
functions are optional); both bounds need only +, - and *, which round the same
everywhere. So the client gets no row far outside, and a NULL for nearly every other.

On PostgreSQL the application's connections run with JIT compilation off (see
``porchlight.kernel.adapters.db.engine``): the planner cannot see how narrow each range is
(BETWEEN on a lateral column gets the default selectivity), so beyond ~10 ranges its
cost estimate passed ``jit_above_cost`` and every lookup paid about 5 ms of LLVM
compilation for a query that runs in well under a millisecond.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Connection, Float, Row, TextualSelect, column, select, text
from sqlalchemy.orm import Session

from porchlight.footage.domain.cameras import Camera
from porchlight.kernel.adapters.db import tables
from porchlight.kernel.domain.geo import LatLon
from porchlight.requests.adapters.h3_cover import TINY, CellRanges, DistanceFrom, cover_circle

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

# PostgreSQL's row estimate for ``unnest`` of an array it cannot see: a prepared
# statement's generic plan (psycopg prepares a statement on its fifth run on a
# connection) assumes 10 ranges. After five custom plans PostgreSQL keeps the generic
# plan only if it is estimated no dearer than planning afresh; a custom plan sees the
# real count, and with fewer than 10 ranges (most lookups at 250 m) it looked cheaper,
# so every such lookup was planned again: ~0.05 ms each, a third of the query. The plan
# is the same either way. Padding the arrays to 10 with empty ranges (one index probe
# each, finding nothing) makes the two estimates equal, and the generic plan stays.
UNNEST_ROWS_GUESS = 10
_EMPTY_RANGE = (0, -1)  # BETWEEN 0 AND -1: no cell
# Δlat² + weight·Δlon², as ``SureInside.holds`` and ``SureOutside.holds`` compute it (the
# same operations in the same order). PostgreSQL raises "value out of range: underflow"
# where a product of absurdly small differences underflows, so there each difference is
# floored at TINY, as ``holds`` does. SQLite rounds such a product to zero, as Python
# does, and its virtual machine pays for every function call on every row, so there the
# floors are left out. That only makes a sum smaller, by less than 1e-199: SureOutside
# refuses less, and SureInside's limit, whenever positive, sits at least 1e-33 (its
# relative margin, 1e-9 or more, of a boundary above 1e-24) inside the true boundary.
_SQUARES = {
    "postgresql": (
        "greatest(abs(c.lat - :centre_lat), :tiny) * greatest(abs(c.lat - :centre_lat), :tiny) "
        "+ :{weight} * greatest(abs(c.lon - :centre_lon), :tiny) "
        "* greatest(abs(c.lon - :centre_lon), :tiny)"
    ),
    "sqlite": (
        "(c.lat - :centre_lat) * (c.lat - :centre_lat) "
        "+ :{weight} * (c.lon - :centre_lon) * (c.lon - :centre_lon)"
    ),
}
EDGE_LAT = column("edge_lat", Float)
EDGE_LON = column("edge_lon", Float)


def lookup_parameters(dialect: str, cover: CellRanges) -> dict[str, Any]:
    """The values bound into ``lookup_statement``: the ranges, in the form the dialect's
    range join takes, the box around the circle and the two bounds."""
    box, sure, outside = cover.box, cover.sure, cover.outside
    bounds = {"south": box.south, "north": box.north, "west": box.west, "east": box.east,
              "centre_lat": sure.lat, "centre_lon": sure.lon, "sure_weight": sure.weight,
              "sure_limit": sure.limit, "outside_weight": outside.weight,
              "outside_limit": outside.limit}
    if dialect == "postgresql":
        # Array literals, cast in the query: cheaper to send than lists, which the driver
        # adapts element by element. Padded with empty ranges to UNNEST_ROWS_GUESS (see
        # there): otherwise a lookup with fewer ranges looks cheaper to plan afresh.
        padding = (_EMPTY_RANGE,) * (UNNEST_ROWS_GUESS - len(cover.ranges))
        spans = cover.ranges + padding
        los = ",".join([str(lo) for lo, _ in spans])
        his = ",".join([str(hi) for _, hi in spans])
        return {**bounds, "tiny": TINY, "los": f"{{{los}}}", "his": f"{{{his}}}"}
    if dialect == "sqlite":
        return {**bounds, "ranges": json.dumps(cover.ranges)}
    raise ValueError(f"the camera lookup supports sqlite and postgresql, not {dialect}")


def lookup_statement(
    dialect: str, *, opted_in_only: bool = True, columns: Sequence[Column[Any]] = tuple(_CAMERAS)
) -> TextualSelect:
    """SELECT the given ``cameras`` columns, then ``edge_lat`` and ``edge_lon``, of every
    camera whose cell is in the ranges, whose position is in the box and which may be
    within the radius (bind ``lookup_parameters``).

    Typed with the table's columns, so ids, booleans and times come back as Python
    values, and ``select(Camera).from_statement(...)`` can map whole rows. Built once
    per shape: only the bound values change from one lookup to the next.
    """
    return _statement(dialect, opted_in_only, tuple(column.name for column in columns))


@lru_cache(maxsize=64)
def _statement(dialect: str, opted_in_only: bool, names: tuple[str, ...]) -> TextualSelect:
    if dialect not in _RANGE_JOINS:
        raise ValueError(f"the camera lookup supports sqlite and postgresql, not {dialect}")
    squares = _SQUARES[dialect]
    sure = f"({squares.replace('{weight}', 'sure_weight')} <= :sure_limit)"
    maybe_inside = f"({squares.replace('{weight}', 'outside_weight')} <= :outside_limit)"
    edges = [f"CASE WHEN {sure} THEN NULL ELSE c.lat END AS edge_lat", "c.lon AS edge_lon"]
    selected = ", ".join([*(f"c.{name}" for name in names), *edges])
    where = ("c.lat BETWEEN :south AND :north AND c.lon BETWEEN :west AND :east AND "
             + maybe_inside + (" AND c.opted_in" if opted_in_only else ""))
    needed = set(names) | {"lat", "lon", "opted_in"}
    inner = ", ".join(COVERED) if needed <= set(COVERED) else "*"
    joins = _RANGE_JOINS[dialect].replace("{inner}", inner)
    # Only constants and the table's own column names are spliced in; values are bound.
    sql = f"SELECT {selected} FROM {joins} WHERE {where}"  # noqa: S608
    return text(sql).columns(*(_CAMERAS[name] for name in names), EDGE_LAT, EDGE_LON)


def cameras_within(
    session: Session, centre: LatLon, radius_m: float, *, opted_in_only: bool = True
) -> list[Camera]:
    """The cameras within ``radius_m`` metres (haversine) of ``centre``, as mapped entities."""
    dialect = session.get_bind().dialect.name
    parameters = lookup_parameters(dialect, cover_circle(centre, radius_m))
    statement = lookup_statement(dialect, opted_in_only=opted_in_only)
    distance = DistanceFrom(centre)
    candidates = session.execute(select(Camera, EDGE_LAT, EDGE_LON).from_statement(statement),
                                 parameters)
    return [camera for camera, lat, lon in candidates
            if lat is None or distance(lat, lon) <= radius_m]


def camera_rows_within(
    connection: Connection,
    centre: LatLon,
    radius_m: float,
    *,
    opted_in_only: bool = True,
    columns: Sequence[Column[Any]] = (_CAMERAS.id, _CAMERAS.owner_id),
) -> list[Row[Any]]:
    """The same lookup without the ORM: rows of ``columns`` (plus ``edge_lat`` and
    ``edge_lon``, last)."""
    dialect = connection.dialect.name
    parameters = lookup_parameters(dialect, cover_circle(centre, radius_m))
    statement = lookup_statement(dialect, opted_in_only=opted_in_only, columns=columns)
    distance = DistanceFrom(centre)
    rows = connection.execute(statement, parameters).all()
    return [row for row in rows if row[-2] is None or distance(row[-2], row[-1]) <= radius_m]
