"""Migration 0019 on both databases: the redacted copies' table and the two columns that
name a copy (on consents and evidence items) come and go cleanly, and the models agree
with the migrations."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from porchlight.kernel.adapters.db import migrate
from tests.integration.test_migration_0010 import _downgrade

BEFORE = "0018"


def _columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_the_redacted_copies_come_and_go(fresh: Engine) -> None:
    migrate.upgrade(fresh, BEFORE)
    assert "redacted_copies" not in inspect(fresh).get_table_names()
    migrate.upgrade(fresh, "0019")
    assert "redacted_copies" in inspect(fresh).get_table_names()
    assert "blurred_copies" in _columns(fresh, "consents")
    assert "redacted_copy_id" in _columns(fresh, "evidence_items")
    assert {"parent_sha256", "sha256", "wrapped_key", "provenance", "snapshots"} <= _columns(
        fresh, "redacted_copies")
    migrate.upgrade(fresh)
    migrate.check(fresh)
    _downgrade(fresh, BEFORE)
    assert "redacted_copies" not in inspect(fresh).get_table_names()
    assert "blurred_copies" not in _columns(fresh, "consents")
    assert "redacted_copy_id" not in _columns(fresh, "evidence_items")
    migrate.upgrade(fresh)
    migrate.check(fresh)
