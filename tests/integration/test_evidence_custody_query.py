"""An evidence item's custody chain is one indexed lookup in the audit events (0016)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from sqlalchemy import Connection, insert, text

from porchlight.audit.adapters.sql_log import SqlLogView
from porchlight.kernel.adapters.db import tables

KINDS = ("evidence.received", "evidence.viewed", "evidence.exported")


def _event(connection: Connection, kind: str, **payload: str) -> int:
    row = {"kind": kind, "version": 1, "occurred_at": datetime(2026, 12, 4, tzinfo=UTC),
           "actor_id": None, "payload": payload}
    return connection.execute(insert(tables.audit_events).values(**row)
                              .returning(tables.audit_events.c.id)).scalar_one()


def test_the_chain_is_the_items_custody_events_in_order(connection: Connection) -> None:
    mine, other = str(uuid4()), str(uuid4())
    ids = [_event(connection, "evidence.received", evidence_id=mine),
           _event(connection, "evidence.viewed", evidence_id=other),
           _event(connection, "evidence.purged", evidence_id=mine),  # not asked for
           _event(connection, "evidence.viewed", evidence_id=mine),
           _event(connection, "clip.viewed", clip_id=mine)]
    found = SqlLogView(connection).subjects_events("evidence_id", [mine], KINDS)
    assert [(f.event.id, f.index, f.leaf) for f in found] == [(ids[0], None, None),
                                                             (ids[3], None, None)]


def test_the_lookup_uses_the_expression_index(connection: Connection) -> None:
    view = SqlLogView(connection)
    if connection.dialect.name == "sqlite":
        plan = connection.execute(text(
            "EXPLAIN QUERY PLAN SELECT id FROM audit_events "
            "WHERE json_extract(payload, '$.evidence_id') = 'x'")).all()
        assert any("ix_audit_events_evidence_id" in str(row) for row in plan), plan
    else:
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        plan = connection.execute(text(
            "EXPLAIN SELECT id FROM audit_events WHERE (payload ->> 'evidence_id') = 'x'")).all()
        assert any("ix_audit_events_evidence_id" in str(row) for row in plan), plan
    assert view.subjects_events("evidence_id", ["x"], KINDS) == []
