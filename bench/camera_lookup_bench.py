"""Camera lookup: H3 id ranges on SQLite and PostgreSQL, beside PostGIS ST_DWithin.

Loads the same N cameras (default 1,000,000; clustered like metro areas, 80% opted in)
into a SQLite file and into a PostgreSQL database the script (re)creates, both migrated
with the project's own migrations, so the H3 lookup runs on the real ``ix_cameras_h3_cover``
index. On PostgreSQL the same rows also carry a ``geography(Point,4326)`` column with a
GiST index when PostGIS is available; without it the PostGIS column is skipped and the
script says how to install it (it installs nothing itself). Then it times the lookup of
opted-in cameras at 250 m and 800 m around random
points near the metro centres, every method on the same points, and writes a section
of bench/RESULTS.md.

    .venv/bin/python bench/camera_lookup_bench.py --cameras 1000000 --queries 1000 \\
        --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import shlex
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h3
import h3.api.basic_int as h3i
from sqlalchemy import Connection, Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.results import machine_lines, replace_section  # noqa: E402
from porchlight.footage.domain.cameras import Camera  # noqa: E402
from porchlight.kernel.adapters.db import migrate, tables  # noqa: E402
from porchlight.kernel.adapters.db.engine import make_engine  # noqa: E402
from porchlight.kernel.adapters.db.orm import start_mappers  # noqa: E402
from porchlight.kernel.adapters.db.repositories import SqlCameraRepository  # noqa: E402
from porchlight.kernel.domain.geo import EARTH_RADIUS_M, LatLon  # noqa: E402
from porchlight.requests.adapters.camera_search import (  # noqa: E402
    camera_rows_within,
    lookup_parameters,
    lookup_statement,
)
from porchlight.requests.adapters.h3_cover import cover_circle  # noqa: E402

RADII_M = (250.0, 800.0)
CREATED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CAMERAS_PER_OWNER = 1.6
BATCH = 50_000


@dataclass(frozen=True)
class Metro:
    name: str
    lat: float
    lon: float
    population_m: float

    @property
    def scale_m(self) -> float:
        """Radial density falloff exp(-r/scale): bigger metros spread further."""
        return 2_500.0 * math.sqrt(self.population_m)


METROS = (
    Metro("New York", 40.7128, -74.0060, 19.8), Metro("Los Angeles", 34.0522, -118.2437, 13.2),
    Metro("Chicago", 41.8781, -87.6298, 9.5), Metro("Dallas", 32.7767, -96.7970, 7.6),
    Metro("Houston", 29.7604, -95.3698, 7.1), Metro("Atlanta", 33.7490, -84.3880, 6.1),
    Metro("Seattle", 47.6062, -122.3321, 4.0), Metro("Portland", 45.5152, -122.6784, 2.5),
)
POSTGIS_SPHERE = (
    "SELECT id, owner_id FROM cameras WHERE opted_in AND "
    "ST_DWithin(geog, CAST(ST_MakePoint(:lon, :lat) AS geography), :radius, false)"
)
POSTGIS_SPHEROID = POSTGIS_SPHERE.replace(", :radius, false)", ", :radius)")


def destination(start: LatLon, bearing_deg: float, distance_m: float) -> LatLon:
    """The point ``distance_m`` along the great circle leaving ``start`` at ``bearing_deg``."""
    phi1, lmb1 = math.radians(start.lat), math.radians(start.lon)
    theta, delta = math.radians(bearing_deg), distance_m / EARTH_RADIUS_M
    sin_phi2 = math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    phi2 = math.asin(sin_phi2)
    lmb2 = lmb1 + math.atan2(math.sin(theta) * math.sin(delta) * math.cos(phi1),
                             math.cos(delta) - math.sin(phi1) * sin_phi2)
    return LatLon(math.degrees(phi2), (math.degrees(lmb2) + 540.0) % 360.0 - 180.0)


def metro_point(rng: random.Random) -> LatLon:
    """A point drawn like population: a metro by size, then density ∝ exp(-r/scale).

    Area grows with r, so the distance from the centre follows Gamma(2, scale)."""
    metro = rng.choices(METROS, weights=[m.population_m for m in METROS])[0]
    distance = rng.gammavariate(2.0, metro.scale_m)
    return destination(LatLon(metro.lat, metro.lon), rng.uniform(0.0, 360.0), distance)


def generate(rng: random.Random, count: int) -> tuple[list[uuid.UUID], list[tuple]]:
    """Owners, and camera rows (id, owner_id, lat, lon, h3_cell, opted_in) in random order."""
    owners = [uuid.UUID(int=rng.getrandbits(128), version=4)
              for _ in range(max(1, round(count / CAMERAS_PER_OWNER)))]
    rows = []
    for _ in range(count):
        point = metro_point(rng)
        cell = h3i.latlng_to_cell(point.lat, point.lon, 10)
        rows.append((uuid.UUID(int=rng.getrandbits(128), version=4), rng.choice(owners),
                     point.lat, point.lon, cell, rng.random() < 0.8))
    return owners, rows


# --- PostgreSQL ------------------------------------------------------------------------


def ensure_postgis(admin: Engine) -> str | None:
    """None when PostGIS can be used; otherwise why not, and how to provide it. A
    benchmark changes nothing on the machine: it never installs a package."""
    with admin.connect() as connection:
        if connection.scalar(text("SELECT 1 FROM pg_available_extensions WHERE name='postgis'")):
            return None
        major = int(connection.scalar(text("SHOW server_version_num"))) // 10000
    return (f"PostGIS is not available on this PostgreSQL server; to compare with it, "
            f"install it first (on Debian: `apt-get install postgresql-{major}-postgis-3`) "
            "and run the benchmark again")


def create_database(admin: Engine, name: str) -> Engine:
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin.url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    return engine


def load_postgres(engine: Engine, owners: list[uuid.UUID], rows: list[tuple],
                  postgis: bool) -> None:
    """COPY owners and cameras; the geography column is filled in the same COPY."""
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        if postgis:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            cursor.execute("ALTER TABLE cameras ADD COLUMN geog geography(Point, 4326)")
        with cursor.copy("COPY accounts (id, email, display_name, kind, created_at, "
                         "failed_signins) FROM STDIN") as copy:
            for owner in owners:
                copy.write_row((owner, f"{owner.hex}@bench.example", "Resident", "resident",
                                CREATED, "[]"))
        geog = ", geog" if postgis else ""
        with cursor.copy("COPY cameras (id, owner_id, name, lat, lon, h3_cell, opted_in, "
                         f"retention_days, created_at{geog}) FROM STDIN") as copy:
            for camera_id, owner, lat, lon, cell, opted_in in rows:
                extra = (f"SRID=4326;POINT({lon!r} {lat!r})",) if postgis else ()
                copy.write_row((camera_id, owner, "Door", lat, lon, cell, opted_in, 30,
                                CREATED, *extra))
        if postgis:
            cursor.execute("CREATE INDEX ix_cameras_geog ON cameras USING gist (geog)")
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        connection.execute(text("CHECKPOINT"))  # flush the load now, not while timing


# --- SQLite ----------------------------------------------------------------------------


def load_sqlite(path: Path, owners: list[uuid.UUID], rows: list[tuple]) -> Engine:
    """A fresh migrated file; rows go in with executemany in big transactions."""
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    created = CREATED.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO accounts (id, email, display_name, kind, created_at, failed_signins) "
            "VALUES (?, ?, 'Resident', 'resident', ?, '[]')",
            [(o.hex, f"{o.hex}@bench.example", created) for o in owners])
    for start in range(0, len(rows), BATCH):
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO cameras (id, owner_id, name, lat, lon, h3_cell, opted_in, "
                "retention_days, created_at) VALUES (?, ?, 'Door', ?, ?, ?, ?, 30, ?)",
                [(c.hex, o.hex, lat, lon, cell, int(yes), created)
                 for c, o, lat, lon, cell, yes in rows[start:start + BATCH]])
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return engine


# --- timing ----------------------------------------------------------------------------

Lookup = Callable[[LatLon, float], set[Any]]


@dataclass
class Timings:
    seconds: list[float] = field(default_factory=list)
    found: list[int] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def h3_rows(connection: Connection) -> Lookup:
    """The lookup without the ORM: (id, owner_id) rows, one transaction per lookup."""
    def lookup(centre: LatLon, radius: float) -> set[Any]:
        with connection.begin():
            return {row.id for row in camera_rows_within(connection, centre, radius)}
    return lookup


def h3_entities(connection: Connection) -> Lookup:
    """What the application calls: ``SqlCameraRepository.within`` in a fresh session."""
    def lookup(centre: LatLon, radius: float) -> set[Any]:
        with Session(bind=connection) as session, session.begin():
            found = SqlCameraRepository(session, lambda _: None).within(centre, radius)
            return {camera.id for camera in found}
    return lookup


def postgis_rows(connection: Connection, sql: str) -> Lookup:
    statement = text(sql).columns(tables.cameras.c.id, tables.cameras.c.owner_id)

    def lookup(centre: LatLon, radius: float) -> set[Any]:
        with connection.begin():
            rows = connection.execute(statement, {"lat": centre.lat, "lon": centre.lon,
                                                  "radius": radius})
            return {row.id for row in rows}
    return lookup


def postgis_entities(connection: Connection) -> Lookup:
    columns = ", ".join(column.name for column in tables.cameras.c)
    sql = POSTGIS_SPHERE.replace("SELECT id, owner_id", f"SELECT {columns}")
    statement = text(sql).columns(*tables.cameras.c)

    def lookup(centre: LatLon, radius: float) -> set[Any]:
        with Session(bind=connection) as session, session.begin():
            params = {"lat": centre.lat, "lon": centre.lon, "radius": radius}
            found = session.scalars(select(Camera).from_statement(statement), params)
            return {camera.id for camera in found}
    return lookup


def run(methods: dict[str, Lookup], points: list[LatLon], radius: float, rng: random.Random
        ) -> tuple[dict[str, Timings], dict[str, int]]:
    """Every method on every point, in a shuffled order per point, each timed on its
    second query there. The first, untimed pass puts every method's pages for the point
    in shared_buffers: otherwise whichever method of a group sharing pages (three PostGIS
    queries share the GiST index and the heap, two H3 queries the B-tree) ran first
    would pay the reads for the others, and the larger group would look faster.
    Also counts the answers that differ from the first method's."""
    names = list(methods)
    timings = {name: Timings() for name in names}
    differs = dict.fromkeys(names, 0)
    for point in points:
        for name in rng.sample(names, len(names)):
            methods[name](point, radius)
        answers = {}
        for name in rng.sample(names, len(names)):
            started = time.perf_counter()
            answers[name] = methods[name](point, radius)
            timings[name].seconds.append(time.perf_counter() - started)
            timings[name].found.append(len(answers[name]))
        for name in names:
            differs[name] += answers[name] != answers[names[0]]
    return timings, differs


def cover_line(sqlite: Connection, points: list[LatLon], radius: float) -> str:
    """Mean ranges and compacted cells, the Python time to compute the cover, and how
    many rows the range query hands to the exact filter."""
    started = time.perf_counter()
    covers = [cover_circle(point, radius) for point in points]
    micros = (time.perf_counter() - started) / len(points) * 1e6
    statement = lookup_statement("sqlite", columns=(tables.cameras.c.id,))
    rows = [len(sqlite.execute(statement, lookup_parameters("sqlite", cover)).all())
            for cover in covers]
    sqlite.commit()
    ranges = sum(len(c.ranges) for c in covers) / len(covers)
    cells = sum(c.cells for c in covers) / len(covers)
    return (f"Cover: {ranges:.1f} ranges from {cells:.1f} compacted cells on average, "
            f"computed in {micros:.0f} µs of Python (included above); the range query "
            f"returns {sum(rows) / len(rows):.0f} opted-in rows on average for the exact filter.")


def server_line(pg: Connection, points: list[LatLon], radius: float, postgis: bool) -> str:
    """Median PostgreSQL execution time (EXPLAIN ANALYZE) of each query on the same points:
    the database's share of the times above; the rest is the client's."""
    c = tables.cameras.c
    h3_sql = lookup_statement("postgresql", columns=(c.id, c.owner_id, c.lat, c.lon))
    times: dict[str, list[float]] = {"H3 ranges": [], "PostGIS": []}
    for point in points:
        queries = {"H3 ranges": (h3_sql.element.text,
                                 lookup_parameters("postgresql", cover_circle(point, radius)))}
        if postgis:
            queries["PostGIS"] = (POSTGIS_SPHERE, {"lat": point.lat, "lon": point.lon,
                                                   "radius": radius})
        with pg.begin():
            pg.execute(text("SET LOCAL jit = off"))
            for name, (sql, values) in queries.items():
                plan = pg.execute(text("EXPLAIN (ANALYZE, TIMING OFF) " + sql), values).all()
                times[name].append(float(plan[-1][0].split()[-2]))
    medians = {name: sorted(ms)[len(ms) // 2] for name, ms in times.items() if ms}
    shown = ", ".join(f"{name} {ms:.2f} ms" for name, ms in medians.items())
    return (f"PostgreSQL execution time alone (EXPLAIN ANALYZE, median over {len(points)} "
            f"of the points): {shown}.")


def verdict_line(radius: float, timings: dict[str, Timings]) -> str:
    """Whether the H3 lookup met the goal: p50 and p95 no slower than PostGIS."""
    reference = timings.get("PostGIS ST_DWithin (sphere), PostgreSQL")
    if reference is None:
        return "Goal check: no PostGIS column in this run."
    verdicts = []
    for name in ("H3 ranges, SQLite", "H3 ranges, PostgreSQL"):
        ratios = [timings[name].percentile(q) / reference.percentile(q) for q in (0.5, 0.95)]
        met = "met" if max(ratios) <= 1.0 else "NOT met"
        verdicts.append(f"{name}: p50 {ratios[0]:.2f}x, p95 {ratios[1]:.2f}x PostGIS ({met})")
    return f"Goal at {radius:.0f} m — " + "; ".join(verdicts) + "."


# --- report ----------------------------------------------------------------------------


def versions(pg: Connection, sqlite: Connection, postgis: bool) -> str:
    server = pg.scalar(text("SHOW server_version"))
    sqlite_version = sqlite.exec_driver_sql("SELECT sqlite_version()").scalar()
    gis = f", PostGIS {pg.scalar(text('SELECT postgis_lib_version()'))}" if postgis else ""
    return f"- software: PostgreSQL {server}{gis}, SQLite {sqlite_version}, h3 {h3.__version__}"


def table_lines(radius: float, timings: dict[str, Timings], differs: dict[str, int]
                ) -> list[str]:
    lines = [f"**{radius:.0f} m**", "", "| method | p50 ms | p95 ms | mean cameras found "
             "| answers differing from H3 |", "|---|---|---|---|---|"]
    for name, timing in timings.items():
        found = sum(timing.found) / len(timing.found)
        lines.append(f"| {name} | {timing.percentile(0.5) * 1e3:.2f} | "
                     f"{timing.percentile(0.95) * 1e3:.2f} | {found:.0f} | {differs[name]} |")
    return [*lines, ""]


def explain_lines(pg: Connection, point: LatLon, radius: float, postgis: bool) -> list[str]:
    """The PostgreSQL plans for one 800 m query, so the report shows what each one does."""
    cover = cover_circle(point, radius)
    c = tables.cameras.c
    statement = lookup_statement("postgresql", columns=(c.id, c.owner_id, c.lat, c.lon))
    plans = [("H3 ranges", statement.element.text, lookup_parameters("postgresql", cover))]
    if postgis:
        plans.append(("PostGIS", POSTGIS_SPHERE, {"lat": point.lat, "lon": point.lon,
                                                  "radius": radius}))
    lines = []
    pg.execute(text("SET LOCAL jit = off"))  # as the lookup itself does
    for name, sql, values in plans:
        rows = pg.execute(text("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql), values)
        lines += [f"{name}, {radius:.0f} m at ({point.lat:.5f}, {point.lon:.5f}):", "```",
                  *(row[0] for row in rows), "```", ""]
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000,
                        help="query points per radius (p95 is the 50th-worst of 1,000)")
    parser.add_argument("--postgres-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="any database on the server; the bench creates its own beside it")
    parser.add_argument("--database", default="porchlight_bench")
    parser.add_argument("--sqlite-path", type=Path, default=Path("/tmp/porchlight_bench.sqlite"))
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the databases of an earlier run with the same --cameras")
    return parser.parse_args()


def reusable(args: argparse.Namespace, admin: Engine) -> tuple[Engine, Engine, str | None] | None:
    """The databases of an earlier run, if both hold exactly --cameras cameras."""
    url = make_url(admin.url).set(database=args.database).render_as_string(hide_password=False)
    try:
        pg, sqlite = make_engine(url), make_engine(f"sqlite:///{args.sqlite_path}")
        with pg.connect() as p, sqlite.connect() as s:
            counts = {p.scalar(text("SELECT count(*) FROM cameras")),
                      s.scalar(text("SELECT count(*) FROM cameras"))}
            geog = p.scalar(text("SELECT count(*) FROM information_schema.columns "
                                 "WHERE table_name = 'cameras' AND column_name = 'geog'"))
    except Exception as error:  # any failure just means "load again"
        print("not reusing the databases:", error, flush=True)
        return None
    if counts != {args.cameras}:
        return None
    return pg, sqlite, None if geog else "the reused database has no PostGIS column"


def load_everything(args: argparse.Namespace, admin: Engine) -> tuple[Engine, Engine, str | None]:
    rng = random.Random(args.seed)
    started = time.perf_counter()
    owners, rows = generate(rng, args.cameras)
    print(f"generated {len(rows):,} cameras in {time.perf_counter() - started:.0f} s", flush=True)
    no_postgis = ensure_postgis(admin)
    if no_postgis:
        print("PostGIS column skipped:", no_postgis, flush=True)
    started = time.perf_counter()
    pg = create_database(admin, args.database)
    load_postgres(pg, owners, rows, postgis=no_postgis is None)
    print(f"PostgreSQL loaded in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    sqlite = load_sqlite(args.sqlite_path, owners, rows)
    print(f"SQLite loaded in {time.perf_counter() - started:.0f} s", flush=True)
    return pg, sqlite, no_postgis


def methods_for(pg: Connection, sqlite: Connection, postgis: bool) -> dict[str, Lookup]:
    methods = {"H3 ranges, SQLite": h3_rows(sqlite), "H3 ranges, PostgreSQL": h3_rows(pg)}
    if postgis:
        methods["PostGIS ST_DWithin (sphere), PostgreSQL"] = postgis_rows(pg, POSTGIS_SPHERE)
        methods["PostGIS ST_DWithin (spheroid, default)"] = postgis_rows(pg, POSTGIS_SPHEROID)
    methods["H3 ranges + ORM entities, SQLite"] = h3_entities(sqlite)
    methods["H3 ranges + ORM entities, PostgreSQL"] = h3_entities(pg)
    if postgis:
        methods["PostGIS (sphere) + ORM entities"] = postgis_entities(pg)
    return methods


def measure(args: argparse.Namespace, pg: Connection, sqlite: Connection, postgis: bool
            ) -> list[str]:
    rng = random.Random(args.seed + 1)
    methods = methods_for(pg, sqlite, postgis)
    lines = []
    for radius in RADII_M:
        run(methods, [metro_point(rng) for _ in range(max(50, args.queries // 4))], radius, rng)
        points = [metro_point(rng) for _ in range(args.queries)]
        gc.collect()
        timings, differs = run(methods, points, radius, rng)
        lines += table_lines(radius, timings, differs)
        lines += [verdict_line(radius, timings), "", cover_line(sqlite, points, radius), "",
                  server_line(pg, points[:60], radius, postgis), ""]
    return lines


def main() -> None:
    args = parse_args()
    start_mappers()
    admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
    loaded = reusable(args, admin) if args.reuse else None
    pg_engine, sqlite_engine, no_postgis = loaded or load_everything(args, admin)
    gc.collect()
    gc.freeze()  # the loaded rows are gone; keep the collector's work the same for all methods
    postgis = no_postgis is None
    with pg_engine.connect() as pg, sqlite_engine.connect() as sqlite:
        figures = measure(args, pg, sqlite, postgis)
        with pg.begin():
            plans = explain_lines(pg, LatLon(METROS[0].lat, METROS[0].lon), 800.0, postgis)
            software = versions(pg, sqlite, postgis)
    command = shlex.join([".venv/bin/python", "bench/camera_lookup_bench.py", *sys.argv[1:]])
    lines = [*machine_lines(), software, f"- command: `{command}`",
             f"- data: {args.cameras:,} cameras around {len(METROS)} US metro centres "
             "(density ∝ exp(-r/scale), scale 2.5 km·√population in millions), 80% opted in, "
             f"{CAMERAS_PER_OWNER} cameras per owner; {args.queries} query points per radius "
             "drawn from the same density; every method answers the same points, in a shuffled "
             "order per point (the PostgreSQL methods share one table and its buffer cache)",
             "- PostGIS: " + ("installed; `geography(Point,4326)` column with a GiST index, "
                              "same table" if postgis else f"skipped: {no_postgis}"),
             "", *figures, *plans]
    replace_section(args.results, "camera-lookup", "Camera lookup (issue 6)", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
