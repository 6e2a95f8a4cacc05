"""Migration 0007: one live clip per camera and bytes, on both databases.

It refuses (changing nothing) when races before it left duplicates, goes through once
they are gone, enforces the rule afterwards, and downgrades cleanly.
"""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, insert, update
from sqlalchemy.exc import IntegrityError

from porchlight.kernel.adapters.db import migrate, tables
from tests.integration.conftest import T0

SHA = "ab" * 32


def _camera(connection: Connection) -> tuple[uuid.UUID, uuid.UUID]:
    owner, camera = uuid.uuid4(), uuid.uuid4()
    connection.execute(insert(tables.accounts).values(
        id=owner, email=f"{owner.hex}@example.org", display_name="R", kind="resident",
        created_at=T0, failed_signins=[]))
    connection.execute(insert(tables.cameras).values(
        id=camera, owner_id=owner, name="Door", lat=45.5, lon=-122.6, h3_cell=1,
        opted_in=True, retention_days=30, created_at=T0))
    return owner, camera


def _clip(connection: Connection, owner: uuid.UUID, camera: uuid.UUID) -> uuid.UUID:
    clip = uuid.uuid4()
    connection.execute(insert(tables.clips).values(
        id=clip, camera_id=camera, owner_id=owner, recorded_at=T0, received_at=T0,
        expires_at=T0, sha256=SHA, size_bytes=1, container="mp4", video_codec="h264",
        width=16, height=16, frame_rate=15.0, duration_seconds=1.0, rotation=0,
        object_key=f"clips/{clip}.video"))
    return clip


def test_0007_refuses_duplicates_then_enforces_the_rule_and_downgrades(fresh: Engine) -> None:
    migrate.upgrade(fresh, "0006")
    with fresh.begin() as connection:
        owner, camera = _camera(connection)
        first, _second = _clip(connection, owner, camera), _clip(connection, owner, camera)
    with pytest.raises(RuntimeError, match=str(camera)):
        migrate.upgrade(fresh)
    assert migrate.current_revision(fresh) == "0006"  # nothing changed

    with fresh.begin() as connection:
        connection.execute(update(tables.clips).where(tables.clips.c.id == first)
                           .values(deleted_at=T0))
    migrate.upgrade(fresh, "0007")
    assert migrate.current_revision(fresh) == "0007"
    with pytest.raises(IntegrityError), fresh.begin() as connection:
        _clip(connection, owner, camera)  # a second live copy
    with fresh.begin() as connection:  # deleted copies do not count
        connection.execute(update(tables.clips).where(tables.clips.c.camera_id == camera)
                           .values(deleted_at=T0))
        _clip(connection, owner, camera)

    with fresh.begin() as connection:
        config = migrate.alembic_config(fresh)
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    assert migrate.current_revision(fresh) == "0006"
    with fresh.begin() as connection:
        _clip(connection, owner, camera)  # the rule is gone with the index
