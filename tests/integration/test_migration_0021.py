"""Migration 0021 on both databases: leaves and openings still refuse a row naming an audit
event that does not exist (a trigger instead of a foreign key), padding leaves name none,
events stay undeletable, and the foreign keys come back on the way down."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, Engine, insert, inspect, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from porchlight.audit.adapters.tables import audit_leaves, audit_openings
from porchlight.kernel.adapters.db import migrate, tables
from tests.integration.conftest import T0
from tests.integration.test_migration_0010 import _downgrade

BEFORE = "0020"


def _event(engine: Engine) -> int:
    with engine.begin() as connection:
        return connection.execute(insert(tables.audit_events).values(
            kind="clip.viewed", version=1, occurred_at=T0, actor_id=uuid.uuid4(),
            payload={}).returning(tables.audit_events.c.id)).scalar_one()


def _leaf(index: int, event_id: int | None) -> dict:
    return {"leaf_index": index, "event_id": event_id, "data": b"{}", "leaf_hash": bytes(32)}


def _opening(index: int, event_id: int) -> dict:
    return {"leaf_index": index, "slot": "event", "event_id": event_id, "account_id": None,
            "agency_id": None, "secret": bytes(32)}


def _foreign_keys(engine: Engine, table: str) -> list[str | None]:
    return [key["name"] for key in inspect(engine).get_foreign_keys(table)]


def _refused(engine: Engine, statement: Executable) -> None:
    """Refused by the trigger (after 0021) or by the foreign key (before it)."""
    with pytest.raises(DBAPIError, match=r"(?i)audit event|foreign key"), \
            engine.begin() as connection:
        connection.execute(statement)


def test_rows_naming_a_missing_event_are_refused_without_foreign_keys(fresh: Engine) -> None:
    migrate.upgrade(fresh, BEFORE)
    assert _foreign_keys(fresh, "audit_leaves") == ["fk_audit_leaves_event_id_audit_events"]
    migrate.upgrade(fresh)
    migrate.check(fresh)
    assert _foreign_keys(fresh, "audit_leaves") == []
    assert _foreign_keys(fresh, "audit_openings") == []

    event = _event(fresh)
    with fresh.begin() as connection:  # several rows in one statement, as the sequencer writes
        connection.execute(insert(audit_leaves), [_leaf(0, event), _leaf(1, None)])
        connection.execute(insert(audit_openings), [_opening(0, event)])
    _refused(fresh, insert(audit_leaves).values(_leaf(2, event + 1)))
    with pytest.raises(DBAPIError, match="audit event"), fresh.begin() as connection:
        connection.execute(insert(audit_leaves), [_leaf(2, None), _leaf(3, event + 7)])
    _refused(fresh, insert(audit_openings).values(_opening(1, event + 1)))
    _refused(fresh, update(audit_openings).values(event_id=event + 1))
    with pytest.raises(DBAPIError, match="append-only"), fresh.begin() as connection:
        connection.execute(tables.audit_events.delete())  # what a leaf names stays
    with pytest.raises(DBAPIError, match="append-only"), fresh.begin() as connection:
        connection.execute(update(audit_leaves).values(event_id=None))  # rebuilt on SQLite
    with fresh.connect() as connection:
        leaves = connection.execute(audit_leaves.select().order_by("leaf_index")).all()
    assert [(row.leaf_index, row.event_id) for row in leaves] == [(0, event), (1, None)]

    _downgrade(fresh, BEFORE)
    assert _foreign_keys(fresh, "audit_leaves") == ["fk_audit_leaves_event_id_audit_events"]
    assert _foreign_keys(fresh, "audit_openings") == ["fk_audit_openings_event_id_audit_events"]
    _refused(fresh, insert(audit_leaves).values(_leaf(2, event + 1)))
    migrate.upgrade(fresh)
    migrate.check(fresh)
    _refused(fresh, insert(audit_openings).values(_opening(1, event + 1)))


def _scans(connection: Connection) -> tuple[int, int]:
    row = connection.exec_driver_sql(
        "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables "
        "WHERE relname = 'audit_events'").one()
    return row.seq_scan, row.idx_scan


def test_the_check_uses_the_events_primary_key_however_small_the_table_was(
    fresh: Engine,
) -> None:
    """PostgreSQL: a long-lived sequencer connection first checks against a small events
    table (where scanning it is cheapest); once the table is large, the check must not
    keep that plan and scan every event for each batch."""
    if fresh.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL planning question")
    migrate.upgrade(fresh)
    first = min(_event(fresh) for _ in range(10))
    batch = ("INSERT INTO audit_leaves (leaf_index, event_id, data, leaf_hash) "
             "SELECT g, %(first)s + g, '\\x00', '\\x00' "
             "FROM generate_series(%(start)s::int, %(end)s::int) g")  # one statement
    with fresh.connect() as sequencer:
        with sequencer.begin():  # a first batch while the queue is small
            sequencer.exec_driver_sql(batch, {"first": first, "start": 0, "end": 9})
        with fresh.begin() as connection:  # the queue grows meanwhile
            connection.exec_driver_sql(
                "INSERT INTO audit_events (kind, version, occurred_at, payload) "
                "SELECT 'clip.viewed', 1, now(), '{}'::jsonb FROM generate_series(1, 300000)")
        with sequencer.begin():
            before = _scans(sequencer)  # PostgreSQL 15 may still hold earlier counts here
            sequencer.exec_driver_sql(batch, {"first": first, "start": 10, "end": 209})
            after = _scans(sequencer)
    assert after[0] - before[0] == 0  # no sequential scan of the events
    assert after[1] - before[1] > 0  # their primary key instead
