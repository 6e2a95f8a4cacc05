"""Migration 0016 on both databases: re-shared evidence. ``evidence_items`` gains its
``parent_id`` and keeps one item per consented clip for the items derived for the request
only (a partial unique index instead of the constraint); ``evidence_shares`` arrives with
immutable terms; both taken back down cleanly."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from porchlight.kernel.adapters.db import migrate
from tests.integration.test_migration_0010 import _downgrade

BEFORE = "0015"


def _evidence(engine: Engine) -> tuple[set[str], dict[str, dict]]:
    found = inspect(engine)
    return ({c["name"] for c in found.get_columns("evidence_items")},
            {i["name"]: i for i in found.get_indexes("evidence_items")})


def test_re_shares_come_and_go(fresh: Engine) -> None:
    migrate.upgrade(fresh, BEFORE)
    columns, _ = _evidence(fresh)
    assert "parent_id" not in columns
    migrate.upgrade(fresh)
    migrate.check(fresh)
    columns, indexes = _evidence(fresh)
    assert "parent_id" in columns
    assert indexes["one_per_clip"]["unique"]
    assert indexes["one_per_clip"]["column_names"] == ["consent_id", "source_clip_id"]
    assert not any(u["name"] == "one_per_clip"
                   for u in inspect(fresh).get_unique_constraints("evidence_items"))
    assert "evidence_shares" in inspect(fresh).get_table_names()
    _downgrade(fresh, BEFORE)
    assert "evidence_shares" not in inspect(fresh).get_table_names()
    columns, _ = _evidence(fresh)
    assert "parent_id" not in columns
    assert any(u["name"] == "one_per_clip"
               for u in inspect(fresh).get_unique_constraints("evidence_items"))
    migrate.upgrade(fresh)
    migrate.check(fresh)
