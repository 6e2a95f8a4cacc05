"""The feed query: the newest posts of a set of H3 cells, keyset-paginated, one statement.

``post_cells`` holds a row per (cell, post) while the post is shown, and the index
``ix_post_cells_feed (cell, published_at, post_id, category, expires_at)``. A page is
the newest ``limit`` rows older than the cursor ``(published_at, post_id)`` over all the
feed's cells. Each cell's newest ``limit`` rows are read with one backward walk of the
index from the cursor (so each cell costs at most ``limit`` index entries however many
posts it has had), and the small union is sorted and cut. Category and expiry are in the
index, so the walk never visits the table; the page's posts are then fetched by id.

* PostgreSQL: ``unnest`` of a ``bigint[]`` of cells, and for each a ``CROSS JOIN
  LATERAL`` subquery with its own ``ORDER BY ... LIMIT`` (an index scan backward,
  index-only once the table is vacuumed). One statement whatever the number of cells.
* SQLite: it has no LATERAL, so a ``UNION ALL`` of one ``LIMIT`` subquery per cell (each a
  backward range scan of the index: ``tests/integration/test_feed_query_db.py`` checks
  both plans); the statement is built once per number of cells.

An agency's post has a row in every cell of its area: ``DISTINCT`` keeps it once (each
cell's newest ``limit`` still hold the page, since a cell holds a post once).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, TextClause, Uuid, bindparam, text

from porchlight.feed.domain.posts import FeedPage
from porchlight.kernel.adapters.db.types import UTCDateTime


def _where(page: FeedPage, cell: str) -> str:
    parts = [f"cell = {cell}", "expires_at > :now"]
    if page.before is not None:
        parts.append("published_at <= :before_t AND (published_at < :before_t "
                     "OR post_id < :before_id)")
    if page.since is not None:
        parts.append("published_at >= :since")
    if page.category is not None:
        parts.append("category = :category")
    return " AND ".join(parts)


_ORDER = "ORDER BY published_at DESC, post_id DESC LIMIT :limit"


@lru_cache(maxsize=256)
def _statement(dialect: str, cells: int, before: bool, since: bool, category: bool
               ) -> TextClause:
    shape = FeedPage((), 0, datetime.min, since=datetime.min if since else None,
                     before=(datetime.min, UUID(int=0)) if before else None,
                     category="x" if category else None)
    # Only constants and numbered parameter names are spliced in; values are bound.
    if dialect == "postgresql":
        where = _where(shape, "r.cell")
        inner = f"SELECT post_id, published_at FROM post_cells WHERE {where} {_ORDER}"  # noqa: S608
        cells_in = "unnest(CAST(:cells AS BIGINT[])) AS r(cell)"
        sql = (f"SELECT DISTINCT p.post_id, p.published_at FROM {cells_in} "  # noqa: S608
               f"CROSS JOIN LATERAL ({inner}) AS p {_ORDER}")
    elif dialect == "sqlite":
        parts = [f"SELECT * FROM (SELECT post_id, published_at FROM post_cells "  # noqa: S608
                 f"INDEXED BY ix_post_cells_feed WHERE {_where(shape, f':c{i}')} {_ORDER})"
                 for i in range(cells)]
        union = " UNION ALL ".join(parts)
        sql = f"SELECT DISTINCT post_id, published_at FROM ({union}) {_ORDER}"  # noqa: S608
    else:
        raise ValueError(f"the feed query supports sqlite and postgresql, not {dialect}")
    binds = [bindparam("now", type_=UTCDateTime())]
    if before:
        binds += [bindparam("before_t", type_=UTCDateTime()), bindparam("before_id", type_=Uuid())]
    if since:
        binds.append(bindparam("since", type_=UTCDateTime()))
    return text(sql).bindparams(*binds).columns(post_id=Uuid(), published_at=UTCDateTime())


def parameters(dialect: str, page: FeedPage) -> dict[str, Any]:
    values: dict[str, Any] = {"now": page.now, "limit": page.limit}
    if dialect == "postgresql":
        values["cells"] = "{" + ",".join(str(cell) for cell in page.cells) + "}"
    else:
        values.update({f"c{i}": cell for i, cell in enumerate(page.cells)})
    if page.before is not None:
        values["before_t"], values["before_id"] = page.before
    if page.since is not None:
        values["since"] = page.since
    if page.category is not None:
        values["category"] = page.category
    return values


def statement(dialect: str, page: FeedPage) -> TextClause:
    return _statement(dialect, len(page.cells), page.before is not None,
                      page.since is not None, page.category is not None)


def newest(connection: Connection, page: FeedPage) -> list[tuple[UUID, datetime]]:
    """(post id, published at) of the page's rows, newest first."""
    if not page.cells:
        return []
    dialect = connection.dialect.name
    rows = connection.execute(statement(dialect, page), parameters(dialect, page)).all()
    return [(row.post_id, row.published_at) for row in rows]
