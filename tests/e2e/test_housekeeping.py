"""The worker's scheduled jobs: each runs when due, and one failing does not stop the others.

Also what a start (the app's, the worker's) sweeps: upload temp files nobody holds.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from porchlight.config import Settings
from porchlight.entrypoints.housekeeping import Housekeeping
from porchlight.entrypoints.uploads import upload_dir
from porchlight.services import temp_uploads
from tests.e2e.support import build_deployment


def test_jobs_run_when_due_and_survive_each_others_failures(settings: Settings) -> None:
    d = build_deployment(settings)
    now = {"t": 0.0}
    keeping = Housekeeping(d.container, monotonic=lambda: now["t"])
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise OSError("disk on fire")

    keeping.jobs = [("broken", 10.0, broken), ("fine", 30.0, lambda: ran.append("fine"))]
    keeping()
    keeping()  # nothing is due yet
    now["t"] = 11.0
    keeping()
    now["t"] = 31.0
    keeping()
    assert ran == ["broken", "fine", "broken", "broken", "fine"]


def test_the_real_jobs_run_against_the_database(settings: Settings) -> None:
    d = build_deployment(settings)
    keeping = Housekeeping(d.container, monotonic=lambda: 0.0)
    d.clock.advance(timedelta(days=1))
    keeping()  # no requests, no clips: both jobs succeed and do nothing
    assert set(keeping.last_run) == {"requests", "evidence", "retention"}


def test_the_first_pass_removes_abandoned_temp_uploads_even_if_retention_fails(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = build_deployment(settings)
    folder = upload_dir(d.container.settings.data_dir)
    abandoned = folder / "9e1d.part"  # fresh, but its process is gone: nobody holds it
    abandoned.write_bytes(b"half a clip")
    live = temp_uploads.create(folder)  # an upload of a live app process

    def unreachable(prefix: str):
        raise OSError("object store unreachable")

    monkeypatch.setattr(d.container.footage.store, "keys", unreachable)
    try:
        Housekeeping(d.container, monotonic=lambda: 0.0)()  # `porchlight worker` starts
        assert not abandoned.exists() and live.path.exists()
    finally:
        live.discard()


def test_start_up_removes_abandoned_temp_uploads_but_not_a_live_one(settings: Settings) -> None:
    d = build_deployment(settings)
    folder = upload_dir(d.container.settings.data_dir)
    abandoned = folder / "5f0c6a.part"  # its process is gone: nobody holds its lock
    abandoned.write_bytes(b"half a clip")
    live = temp_uploads.create(folder)  # another app process's upload, still in flight
    try:
        with TestClient(d.app):
            assert not abandoned.exists()
            assert live.path.exists()
    finally:
        live.discard()
