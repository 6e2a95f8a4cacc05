"""Migration 0014 on both databases: legal holds, whose terms the database refuses to
change or delete (only the release is set), and the case's closing on a table that already
holds requests; both taken back down cleanly."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete, insert, inspect, select, update
from sqlalchemy.exc import DatabaseError

from porchlight.kernel.adapters.db import migrate, tables
from tests.integration.conftest import T0
from tests.integration.test_migration_0010 import _downgrade, _request

BEFORE = "0013"


def _columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("video_requests")}


def test_legal_holds_and_the_case_closing_come_and_go(fresh: Engine) -> None:
    migrate.upgrade(fresh, BEFORE)
    with fresh.begin() as connection:
        supervisor, request = _request(connection)
    migrate.upgrade(fresh)
    migrate.check(fresh)
    holds, hold = tables.legal_holds, uuid.uuid4()
    with fresh.begin() as connection:
        assert connection.execute(select(tables.video_requests.c.case_closed_at)).scalar() is None
        connection.execute(insert(holds).values(
            id=hold, request_id=request, agency_id=connection.execute(
                select(tables.video_requests.c.agency_id)).scalar_one(),
            set_by=supervisor, set_by_role="supervisor", set_at=T0,
            until=T0 + timedelta(days=30), reason="Kept for the trial.",
            reason_nonce="00" * 16))
        connection.execute(update(holds).values(  # the release is set once, by the app
            released_at=T0 + timedelta(days=1), released_by=supervisor, end_cause="released"))
        connection.execute(update(tables.video_requests).values(
            case_closed_at=T0, case_closed_by=supervisor))
    for change in (update(holds).values(until=T0 + timedelta(days=300)),
                   update(holds).values(reason="Something else entirely."),
                   delete(holds)):
        with pytest.raises(DatabaseError), fresh.begin() as connection:
            connection.execute(change)

    _downgrade(fresh, BEFORE)
    assert "legal_holds" not in inspect(fresh).get_table_names()
    assert not {"case_closed_at", "case_closed_by"} & _columns(fresh)
    migrate.upgrade(fresh)
    assert {"case_closed_at", "case_closed_by"} <= _columns(fresh)
    migrate.check(fresh)
