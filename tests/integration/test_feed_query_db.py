"""The feed query on both databases: the same pages as a brute force over the rows
(newest first, keyset pages, category, expiry, window start, an agency post in many cells
once), and each cell's subquery walking the feed index (EXPLAIN)."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Connection, Engine, insert, text

from porchlight.accounts.domain.accounts import AccountKind
from porchlight.feed.adapters.feed_query import newest, parameters, statement
from porchlight.feed.domain.posts import FeedPage
from porchlight.feed.services import cells
from porchlight.kernel.adapters.db import tables
from porchlight.kernel.domain.geo import LatLon
from tests.integration.conftest import T0

HOME = LatLon(45.5122, -122.6587)
CATEGORIES = ("crime", "pet", "community")


def _rows(connection: Connection, seed: int = 20261204) -> list[dict]:
    """300 posts in the 1 km feed's cells and around them over 30 days (some sharing a
    time, some expired), and one agency post in every cell."""
    rng = random.Random(seed)
    author = uuid.uuid4()
    connection.execute(insert(tables.accounts).values(
        id=author, email=f"{author.hex}@example.org", display_name="R",
        kind=AccountKind.RESIDENT, created_at=T0))
    area = cells.cells_within(HOME, 3000)
    rows = []
    for i in range(300):
        published = T0 - timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
        if i % 10 == 0 and rows:
            published = rows[-1]["published_at"]  # ties: the id decides
        rows.append({"cell": rng.choice(area), "post_id": uuid.uuid4(),
                     "published_at": published, "category": rng.choice(CATEGORIES),
                     "expires_at": published + timedelta(days=rng.choice((1, 60)))})
    agency = {"post_id": uuid.uuid4(), "published_at": T0 - timedelta(hours=1),
              "category": "crime", "expires_at": T0 + timedelta(days=5)}
    rows += [{"cell": cell, **agency} for cell in area]
    connection.execute(insert(tables.posts), [
        {"id": post_id, "author_id": author, "category": row["category"], "title": "t",
         "description": "", "cell": row["cell"], "lat": 0.0, "lon": 0.0,
         "status": "published", "created_at": row["published_at"],
         "published_at": row["published_at"], "expires_at": row["expires_at"], "blur": False}
        for post_id, row in {r["post_id"]: r for r in rows}.items()])
    connection.execute(insert(tables.post_cells), rows)
    return rows


def _brute(rows: list[dict], page: FeedPage) -> list[uuid.UUID]:
    found = {}
    for row in rows:
        key = (row["published_at"], row["post_id"])
        if (row["cell"] in page.cells and row["expires_at"] > page.now
                and (page.before is None or key < page.before)
                and (page.since is None or row["published_at"] >= page.since)
                and (page.category is None or row["category"] == page.category)):
            found[row["post_id"]] = key
    return [post_id for post_id, _ in sorted(found.items(), key=lambda kv: kv[1],
                                             reverse=True)][:page.limit]


@pytest.mark.parametrize(("radius", "category", "since_days"), [
    (1000, None, None), (1000, "pet", None), (5000, None, 7), (500, "crime", 20)])
def test_pages_match_a_brute_force_over_the_rows(connection: Connection, radius: int,
                                                 category: str | None,
                                                 since_days: int | None) -> None:
    rows = _rows(connection)
    since = T0 - timedelta(days=since_days) if since_days else None
    page = FeedPage(tuple(cells.feed_cells(HOME, radius)), 20, T0, since=since,
                    category=category)
    seen: list[uuid.UUID] = []
    for _ in range(4):  # pages 1 to 4, each from the last row of the one before
        got = newest(connection, page)
        assert [post_id for post_id, _ in got] == _brute(rows, page)
        seen += [post_id for post_id, _ in got]
        if len(got) < page.limit:
            break
        last_id, last_at = got[-1]
        page = FeedPage(page.cells, 20, T0, since=since, before=(last_at, last_id),
                        category=category)
    assert len(seen) == len(set(seen)) and seen  # no post twice (the agency's included)


def _plan(connection: Connection, dialect: str, page: FeedPage, explain: str) -> list[str]:
    clause = statement(dialect, page).element  # the text, with its typed parameters
    query = text(explain + clause.text).bindparams(*clause._bindparams.values())
    return [str(row[-1]) for row in connection.execute(query, parameters(dialect, page))]


def test_sqlite_searches_the_feed_index_backwards_for_each_cell(sqlite_engine: Engine) -> None:
    page = FeedPage(tuple(cells.feed_cells(HOME, 1000)), 20, T0,
                    before=(T0, uuid.uuid4()), since=T0 - timedelta(days=90), category="pet")
    with sqlite_engine.connect() as connection:
        plan = _plan(connection, "sqlite", page, "EXPLAIN QUERY PLAN ")
    searches = [line for line in plan if "USING COVERING INDEX ix_post_cells_feed" in line]
    assert len(searches) == len(page.cells), plan
    assert all("(cell=? AND published_at>? AND published_at<?)" in line for line in searches)
    assert not any("USE TEMP B-TREE FOR ORDER BY" in line and "post_cells" in line
                   for line in plan)


def test_postgres_reads_each_cell_from_the_feed_index(postgres_engine: Engine) -> None:
    page = FeedPage(tuple(cells.feed_cells(HOME, 1000)), 20, T0,
                    before=(T0, uuid.uuid4()), since=T0 - timedelta(days=90), category="pet")
    with postgres_engine.connect() as connection, connection.begin():
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        connection.execute(text("SET LOCAL enable_bitmapscan = off"))
        plan = "\n".join(_plan(connection, "postgresql", page, "EXPLAIN "))
    assert "Nested Loop" in plan and "Function Scan on unnest r" in plan
    assert "Index Only Scan Backward using ix_post_cells_feed" in plan, plan
    assert "Index Cond: ((cell = r.cell)" in plan
    assert "Limit" in plan
