"""Migration 0017 on both databases: legal demands. ``legal_demands`` arrives with
immutable terms; ``evidence_items`` gains ``legal_demand_id`` with one item per demanded
clip, and its consent and request become optional (on SQLite without rebuilding the table,
which ``evidence_shares`` refers to); all taken back down cleanly."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from porchlight.kernel.adapters.db import migrate
from tests.integration.test_migration_0010 import _downgrade

BEFORE = "0016"


def _columns(engine: Engine) -> dict[str, dict]:
    return {c["name"]: c for c in inspect(engine).get_columns("evidence_items")}


def test_legal_demands_come_and_go(fresh: Engine) -> None:
    migrate.upgrade(fresh, BEFORE)
    assert not _columns(fresh)["consent_id"]["nullable"]
    migrate.upgrade(fresh)
    migrate.check(fresh)
    columns = _columns(fresh)
    assert columns["consent_id"]["nullable"] and columns["request_id"]["nullable"]
    assert "legal_demand_id" in columns
    indexes = {i["name"]: i for i in inspect(fresh).get_indexes("evidence_items")}
    assert indexes["one_per_demanded_clip"]["unique"]
    assert any(fk["referred_table"] == "legal_demands"
               for fk in inspect(fresh).get_foreign_keys("evidence_items"))
    assert "legal_demands" in inspect(fresh).get_table_names()
    if fresh.dialect.name == "sqlite":
        with fresh.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    _downgrade(fresh, BEFORE)
    assert "legal_demands" not in inspect(fresh).get_table_names()
    columns = _columns(fresh)
    assert "legal_demand_id" not in columns and not columns["consent_id"]["nullable"]
    migrate.upgrade(fresh)
    migrate.check(fresh)

