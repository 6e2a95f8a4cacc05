"""Migrations 0009 and 0010 on both databases: the audit events' (actor, kind, time) index,
and the rejection's columns added to a table that already holds requests, with the
reference to the supervisor enforced, and both taken back down cleanly."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError

from porchlight.kernel.adapters.db import migrate, tables
from tests.integration.conftest import T0

REJECTION = ("rejected_by", "rejection_reason", "rejection_nonce")


def _request(connection: Connection) -> tuple[uuid.UUID, uuid.UUID]:
    agency, officer, request = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    connection.execute(insert(tables.agencies).values(
        id=agency, name="Agency", kind="municipal_police", center_lat=45.5, center_lon=-122.6,
        radius_m=8000, created_at=T0))
    connection.execute(insert(tables.accounts).values(
        id=officer, email=f"{officer.hex}@agency.example", display_name="O", kind="staff",
        agency_id=agency, staff_role="supervisor", created_at=T0, failed_signins=[]))
    connection.execute(insert(tables.video_requests).values(
        id=request, agency_id=agency, created_by=officer, case_number="1", incident_type="theft",
        incident_time=T0, lat=45.5, lon=-122.6, radius_m=400, window_start=T0, window_end=T0,
        description="d", retention_days=30, sharing_plan=[], contact="c",
        status="awaiting_approval", created_at=T0))
    return officer, request


def _columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("video_requests")}


def _downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        config = migrate.alembic_config(engine)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_the_audit_index_and_the_rejection_columns_come_and_go(fresh: Engine) -> None:
    migrate.upgrade(fresh, "0008")
    with fresh.begin() as connection:
        officer, request = _request(connection)
    migrate.upgrade(fresh)
    migrate.check(fresh)
    indexes = {index["name"] for index in inspect(fresh).get_indexes("audit_events")}
    assert "ix_audit_events_actor_kind_time" in indexes
    requests = tables.video_requests
    with fresh.begin() as connection:
        row = connection.execute(select(requests).where(requests.c.id == request)).one()
        assert (row.rejected_by, row.rejection_reason, row.rejection_nonce) == (None,) * 3
        connection.execute(update(requests).where(requests.c.id == request).values(
            status="rejected", rejected_by=officer, rejection_reason="Too wide for a bike.",
            rejection_nonce="00" * 16))
    with pytest.raises(IntegrityError), fresh.begin() as connection:
        connection.execute(update(requests).where(requests.c.id == request).values(
            rejected_by=uuid.uuid4()))  # the reference to the supervisor holds

    _downgrade(fresh, "0008")
    assert not set(REJECTION) & _columns(fresh)
    indexes = {index["name"] for index in inspect(fresh).get_indexes("audit_events")}
    assert "ix_audit_events_actor_kind_time" not in indexes
    migrate.upgrade(fresh)
    assert set(REJECTION) <= _columns(fresh)
    migrate.check(fresh)
