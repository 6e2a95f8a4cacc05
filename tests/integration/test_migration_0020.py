"""Migration 0020 on both databases: the feed's four tables and the feed index come and
go cleanly, and the models agree with the migrations."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from porchlight.kernel.adapters.db import migrate
from tests.integration.test_migration_0010 import _downgrade

BEFORE = "0019"
FEED = {"posts", "post_cells", "comments", "reports"}


def test_the_feed_tables_come_and_go(fresh: Engine) -> None:
    migrate.upgrade(fresh, BEFORE)
    assert not FEED & set(inspect(fresh).get_table_names())
    migrate.upgrade(fresh)
    migrate.check(fresh)
    assert set(inspect(fresh).get_table_names()) >= FEED
    indexes = {i["name"]: i["column_names"] for i in inspect(fresh).get_indexes("post_cells")}
    assert indexes["ix_post_cells_feed"] == ["cell", "published_at", "post_id", "category",
                                             "expires_at"]
    _downgrade(fresh, BEFORE)
    assert not FEED & set(inspect(fresh).get_table_names())
    migrate.upgrade(fresh)
    migrate.check(fresh)
