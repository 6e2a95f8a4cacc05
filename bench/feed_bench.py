"""The Neighbors feed query on SQLite and PostgreSQL, beside PostGIS ST_DWithin.

Loads N posts (default 5,000,000) spread over a year across one metro area (Portland,
density falling off from the centre) into a SQLite file and a PostgreSQL database the
script (re)creates, both migrated with the project's migrations, so the product's query
(``porchlight.feed.adapters.feed_query``: per-cell keyset walks of ``ix_post_cells_feed``)
runs on its real index. Each post is shown at its H3 resolution-8 cell centre, and that is
what both methods search. On PostgreSQL the same ``posts`` rows also carry a
``geography(Point,4326)`` column (the shown point) with a GiST index, and a B-tree on
(published_at, id) so the planner may walk time instead; PostGIS answers the same
question with ``ST_DWithin(geog, home, radius + snap)`` (the cells the feed covers are
exactly those whose centre is within radius + snap), ``ORDER BY published_at DESC, id
DESC LIMIT 20`` and the same keyset. Without PostGIS that method is skipped and the
script says how to install it (it installs nothing itself).

Timed: a resident's feed at 1 km over the last 90 days, newest 20, page 1 and then page 2
from page 1's last row, for random homes drawn like the posts; every method on the same
homes, each timed on its second run there (warm), with its answers compared.

    .venv/bin/python bench/feed_bench.py --posts 5000000 --queries 500 \\
        --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shlex
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import h3.api.basic_int as h3i
from sqlalchemy import Connection, Engine, create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.camera_lookup_bench import create_database, destination, ensure_postgis  # noqa: E402
from bench.results import machine_lines, replace_section  # noqa: E402
from porchlight.feed.adapters.feed_query import newest  # noqa: E402
from porchlight.feed.domain.posts import FeedPage  # noqa: E402
from porchlight.feed.services import cells  # noqa: E402
from porchlight.kernel.adapters.db import migrate  # noqa: E402
from porchlight.kernel.adapters.db.engine import make_engine  # noqa: E402
from porchlight.kernel.domain.geo import LatLon  # noqa: E402

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
YEAR = timedelta(days=365)
WINDOW = timedelta(days=90)
RADIUS_M = 1000
PAGE = 20
CENTRE = LatLon(45.5152, -122.6784)  # Portland
SCALE_M = 4000.0  # density ∝ exp(-r / SCALE_M): half the posts within ~6.7 km
CHUNK = 100_000
CATEGORIES = ("crime", "safety", "suspicious", "pet", "unexpected", "community")
POSTGIS = (
    "SELECT id AS post_id, published_at FROM posts WHERE "
    "ST_DWithin(geog, CAST(ST_MakePoint(:lon, :lat) AS geography), :radius, false) "
    "AND published_at >= :since AND expires_at > :now {keyset}"
    "ORDER BY published_at DESC, id DESC LIMIT :limit"
)
KEYSET = "AND published_at <= :before_t AND (published_at < :before_t OR id < :before_id) "


def point(rng: random.Random) -> LatLon:
    return destination(CENTRE, rng.uniform(0.0, 360.0), rng.gammavariate(2.0, SCALE_M))


def chunks(seed: int, count: int) -> Iterator[list[tuple]]:
    """Post rows (id, cell, lat, lon, published_at, category) in chunks, the same for a
    seed every time (so each database gets the same posts without holding them all)."""
    rng = random.Random(seed)
    for start in range(0, count, CHUNK):
        rows = []
        for _ in range(min(CHUNK, count - start)):
            at = point(rng)
            cell = h3i.latlng_to_cell(at.lat, at.lon, cells.RESOLUTION)
            lat, lon = h3i.cell_to_latlng(cell)
            published = NOW - YEAR * rng.random()
            rows.append((uuid.UUID(int=rng.getrandbits(128), version=4), cell, lat, lon,
                         published, rng.choice(CATEGORIES)))
        yield rows


AUTHOR = uuid.UUID(int=1, version=4)


def load_postgres(engine: Engine, seed: int, count: int, postgis: bool) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        if postgis:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            cursor.execute("ALTER TABLE posts ADD COLUMN geog geography(Point, 4326)")
        cursor.execute("INSERT INTO accounts (id, email, display_name, kind, created_at, "
                       "failed_signins) VALUES (%s, 'bench@example.org', 'R', 'resident', "
                       "%s, '[]')", (AUTHOR, NOW))
        # the indexes go on after the load: much faster than keeping them up row by row
        cursor.execute("DROP INDEX ix_post_cells_feed")
        cursor.execute("ALTER TABLE post_cells DROP CONSTRAINT pk_post_cells")
        cursor.execute("DROP INDEX ix_post_cells_post_id")
        cursor.execute("ALTER TABLE post_cells DROP CONSTRAINT fk_post_cells_post_id_posts")
        geog = ", geog" if postgis else ""
        for rows in chunks(seed, count):
            with cursor.copy("COPY posts (id, author_id, category, title, description, cell, "
                             "lat, lon, status, created_at, published_at, expires_at, blur"
                             f"{geog}) FROM STDIN") as copy:
                for post_id, cell, lat, lon, published, category in rows:
                    extra = (f"SRID=4326;POINT({lon!r} {lat!r})",) if postgis else ()
                    copy.write_row((post_id, AUTHOR, category, "Bench post", "", cell, lat,
                                    lon, "published", published, published,
                                    published + YEAR, False, *extra))
            with cursor.copy("COPY post_cells (cell, post_id, published_at, category, "
                             "expires_at) FROM STDIN") as copy:
                for post_id, cell, _, _, published, category in rows:
                    copy.write_row((cell, post_id, published, category, published + YEAR))
            print(".", end="", flush=True)
        print(" indexing", flush=True)
        cursor.execute("ALTER TABLE post_cells ADD CONSTRAINT pk_post_cells "
                       "PRIMARY KEY (cell, post_id)")
        cursor.execute("CREATE INDEX ix_post_cells_feed ON post_cells "
                       "(cell, published_at, post_id, category, expires_at)")
        cursor.execute("CREATE INDEX ix_post_cells_post_id ON post_cells (post_id)")
        cursor.execute("ALTER TABLE post_cells ADD CONSTRAINT fk_post_cells_post_id_posts "
                       "FOREIGN KEY (post_id) REFERENCES posts (id)")
        if postgis:
            cursor.execute("CREATE INDEX ix_posts_geog ON posts USING gist (geog)")
            cursor.execute("CREATE INDEX ix_posts_published ON posts (published_at, id)")
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        connection.execute(text("CHECKPOINT"))


def load_sqlite(path: Path, seed: int, count: int) -> Engine:
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)

    def stamp(moment: datetime) -> str:
        return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO accounts (id, email, display_name, kind, created_at, failed_signins) "
            "VALUES (?, 'bench@example.org', 'R', 'resident', ?, '[]')",
            (AUTHOR.hex, stamp(NOW)))
        connection.exec_driver_sql("DROP INDEX ix_post_cells_feed")
    for rows in chunks(seed, count):
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO posts (id, author_id, category, title, description, cell, lat, "
                "lon, status, created_at, published_at, expires_at, blur) VALUES "
                "(?, ?, ?, 'Bench post', '', ?, ?, ?, 'published', ?, ?, ?, 0)",
                [(p.hex, AUTHOR.hex, category, cell, lat, lon, stamp(at), stamp(at),
                  stamp(at + YEAR)) for p, cell, lat, lon, at, category in rows])
            connection.exec_driver_sql(
                "INSERT INTO post_cells (cell, post_id, published_at, category, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(cell, p.hex, stamp(at), category, stamp(at + YEAR))
                 for p, cell, _, _, at, category in rows])
        print(".", end="", flush=True)
    print(" indexing", flush=True)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE INDEX ix_post_cells_feed ON post_cells "
                                   "(cell, published_at, post_id, category, expires_at)")
        connection.exec_driver_sql("ANALYZE")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return engine


# --- timing ----------------------------------------------------------------------------

Page = list[tuple[uuid.UUID, datetime]]
Method = Callable[[LatLon, tuple[datetime, uuid.UUID] | None], Page]


@dataclass
class Timings:
    seconds: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def feed_method(connection: Connection) -> Method:
    """The product's query: the home's feed cells, then the per-cell keyset walk."""
    def run(home: LatLon, before: tuple[datetime, uuid.UUID] | None) -> Page:
        with connection.begin():
            page = FeedPage(tuple(cells.feed_cells(home, RADIUS_M)), PAGE, NOW,
                            since=NOW - WINDOW, before=before)
            return newest(connection, page)
    return run


def postgis_method(connection: Connection) -> Method:
    from sqlalchemy import Uuid, bindparam

    from porchlight.kernel.adapters.db.types import UTCDateTime

    def statement(keyset: bool):
        binds = [bindparam("since", type_=UTCDateTime()), bindparam("now", type_=UTCDateTime())]
        if keyset:
            binds += [bindparam("before_t", type_=UTCDateTime()),
                      bindparam("before_id", type_=Uuid())]
        sql = POSTGIS.replace("{keyset}", KEYSET if keyset else "")
        return text(sql).bindparams(*binds).columns(post_id=Uuid(), published_at=UTCDateTime())

    first, later = statement(False), statement(True)

    def run(home: LatLon, before: tuple[datetime, uuid.UUID] | None) -> Page:
        values: dict[str, Any] = {"lat": home.lat, "lon": home.lon, "now": NOW,
                                  "radius": RADIUS_M + cells.REACH_M, "since": NOW - WINDOW,
                                  "limit": PAGE}
        if before:
            values["before_t"], values["before_id"] = before
        with connection.begin():
            rows = connection.execute(later if before else first, values).all()
        return [(row.post_id, row.published_at) for row in rows]
    return run


def run(methods: dict[str, Method], homes: list[LatLon], rng: random.Random
        ) -> tuple[dict[str, dict[int, Timings]], dict[str, int]]:
    """Pages 1 and 2 for every method at every home, warm (an untimed run first), in a
    shuffled order; counts the pages that differ from the first method's."""
    names = list(methods)
    timings = {name: {1: Timings(), 2: Timings()} for name in names}
    differs = dict.fromkeys(names, 0)
    for home in homes:
        answers = {}
        for timed in (False, True):
            for name in rng.sample(names, len(names)):
                started = time.perf_counter()
                first = methods[name](home, None)
                middle = time.perf_counter()
                second = methods[name](home, (first[-1][1], first[-1][0])) if first else []
                ended = time.perf_counter()
                if timed:
                    timings[name][1].seconds.append(middle - started)
                    timings[name][2].seconds.append(ended - middle)
                    answers[name] = first + second
        for name in names:
            differs[name] += answers[name] != answers[names[0]]
    return timings, differs


def plans(pg: Connection, home: LatLon, postgis: bool) -> list[str]:
    from porchlight.feed.adapters.feed_query import parameters, statement

    page = FeedPage(tuple(cells.feed_cells(home, RADIUS_M)), PAGE, NOW, since=NOW - WINDOW)
    clause = statement("postgresql", page).element
    queries = [("Feed query (H3 cells)", text(clause.text).bindparams(
        *clause._bindparams.values()), parameters("postgresql", page))]
    if postgis:
        queries.append(("PostGIS", text(POSTGIS.replace("{keyset}", "")),
                        {"lat": home.lat, "lon": home.lon, "radius": RADIUS_M + cells.REACH_M,
                         "since": NOW - WINDOW, "now": NOW, "limit": PAGE}))
    lines = []
    for name, query, values in queries:
        with pg.begin():
            rows = pg.execute(text("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + query.text)
                              .bindparams(*query._bindparams.values()), values)
            lines += [f"{name}, page 1 at ({home.lat:.5f}, {home.lon:.5f}):", "```",
                      *(row[0] for row in rows), "```", ""]
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=5_000_000)
    parser.add_argument("--queries", type=int, default=500, help="homes (each: pages 1, 2)")
    parser.add_argument("--postgres-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="porchlight_feed_bench")
    parser.add_argument("--sqlite-path", type=Path,
                        default=Path("/tmp/porchlight_feed_bench.sqlite"))
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--keep", action="store_true",
                        help="keep the databases afterwards (dropped by default)")
    parser.add_argument("--reuse", action="store_true",
                        help="use the databases an earlier --keep run left")
    return parser.parse_args()


def table(timings: dict[str, dict[int, Timings]], differs: dict[str, int]) -> list[str]:
    lines = ["| method | page 1 p50 ms | page 1 p95 ms | page 2 p50 ms | page 2 p95 ms "
             "| pages differing from the feed query |", "|---|---|---|---|---|---|"]
    for name, pages in timings.items():
        cells_ = [f"{pages[n].percentile(q) * 1e3:.2f}" for n in (1, 2) for q in (0.5, 0.95)]
        lines.append(f"| {name} | {' | '.join(cells_)} | {differs[name]} |")
    return lines


def verdict(timings: dict[str, dict[int, Timings]]) -> list[str]:
    reference = timings.get("PostGIS ST_DWithin, PostgreSQL")
    if reference is None:
        return ["Goal check: no PostGIS in this run."]
    lines = []
    for name in ("Feed query, SQLite", "Feed query, PostgreSQL"):
        ratios = [timings[name][n].percentile(0.95) / reference[n].percentile(0.95)
                  for n in (1, 2)]
        met = "met" if max(ratios) <= 1 / 3 else "NOT met"
        shown = ", ".join(f"page {n} {ratio:.4f}x (1/{1 / ratio:,.0f})"
                          for n, ratio in zip((1, 2), ratios, strict=True))
        lines.append(f"- {name}: p95 {shown} of PostGIS's (goal: at most 1/3): {met}")
    return lines


def main() -> None:
    args = parse_args()
    admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
    no_postgis = ensure_postgis(admin)
    postgis = no_postgis is None
    if no_postgis:
        print("PostGIS skipped:", no_postgis, flush=True)
    started = time.perf_counter()
    if args.reuse:
        from sqlalchemy.engine import make_url

        url = make_url(admin.url).set(database=args.database)
        pg = make_engine(url.render_as_string(hide_password=False))
        sqlite = make_engine(f"sqlite:///{args.sqlite_path}")
    else:
        pg = create_database(admin, args.database)
        load_postgres(pg, args.seed, args.posts, postgis)
        print(f"PostgreSQL loaded in {time.perf_counter() - started:.0f} s", flush=True)
        sqlite = load_sqlite(args.sqlite_path, args.seed, args.posts)
    loaded = time.perf_counter() - started
    print(f"loaded in {loaded:.0f} s", flush=True)
    rng = random.Random(args.seed + 1)
    homes = [point(rng) for _ in range(args.queries)]
    load_before = os.getloadavg()
    with pg.connect() as p, sqlite.connect() as s:
        methods = {"Feed query, SQLite": feed_method(s), "Feed query, PostgreSQL": feed_method(p)}
        if postgis:
            methods["PostGIS ST_DWithin, PostgreSQL"] = postgis_method(p)
        timings, differs = run(methods, homes, rng)
        explained = plans(p, homes[0], postgis)
        server = p.scalar(text("SHOW server_version"))
        gis = f", PostGIS {p.scalar(text('SELECT postgis_lib_version()'))}" if postgis else ""
        sqlite_version = s.exec_driver_sql("SELECT sqlite_version()").scalar()
    load_after = os.getloadavg()
    command = "python bench/feed_bench.py " + shlex.join(sys.argv[1:])
    lines = [*machine_lines(),
             f"- software: PostgreSQL {server}{gis}, SQLite {sqlite_version}",
             f"- command: `{command}`",
             f"- load average (1, 5, 15 min) before timing: {load_before[0]:.2f}, "
             f"{load_before[1]:.2f}, {load_before[2]:.2f}; after: {load_after[0]:.2f}, "
             f"{load_after[1]:.2f}, {load_after[2]:.2f} (2 cores shared with other engineers' "
             "test runs)",
             f"- data: {args.posts:,} posts over a year around Portland (density ∝ "
             f"exp(-r/{SCALE_M / 1000:g} km)); load took {loaded:.0f} s",
             f"- query: a home drawn like the posts, {RADIUS_M} m, the last 90 days, newest "
             f"{PAGE}, page 1 then page 2 from page 1's last row; {args.queries} homes, "
             "each method timed warm on its second run there", "",
             *table(timings, differs), "", *verdict(timings), "", *explained]
    if no_postgis:
        lines.append(f"PostGIS: {no_postgis}.")
    replace_section(args.results, "feed-bench", "Neighbors feed query (issue 18)", lines)
    print("\n".join(lines))
    if not args.keep:
        pg.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'))
        for stale in (args.sqlite_path, Path(f"{args.sqlite_path}-wal"),
                      Path(f"{args.sqlite_path}-shm")):
            stale.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
