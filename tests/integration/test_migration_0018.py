"""Migration 0018 on both databases: the holder's answer to a deletion request, four
nullable columns on ``evidence_items``, added and taken back down cleanly (the re-share
index and parent key of 0016 survive SQLite's table rebuild)."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from porchlight.kernel.adapters.db import migrate
from tests.integration.test_migration_0010 import _downgrade

BEFORE = "0017"
ANSWER = {"deletion_answer", "deletion_answered_at", "deletion_answered_role",
          "deletion_hold_id"}


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("evidence_items")}


def test_deletion_answers_come_and_go(fresh: Engine) -> None:
    migrate.upgrade(fresh, BEFORE)
    assert not ANSWER & _columns(fresh)
    migrate.upgrade(fresh)
    migrate.check(fresh)
    assert _columns(fresh) >= ANSWER
    _downgrade(fresh, BEFORE)
    assert not ANSWER & _columns(fresh)
    indexes = {i["name"]: i for i in inspect(fresh).get_indexes("evidence_items")}
    assert indexes["one_per_clip"]["unique"]
    assert "parent_id" in _columns(fresh)
    migrate.upgrade(fresh)
    migrate.check(fresh)
