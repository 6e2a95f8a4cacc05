"""The worker's scheduled jobs: each runs when due, and one failing does not stop the others."""

from __future__ import annotations

from datetime import timedelta

from porchlight.config import Settings
from porchlight.entrypoints.housekeeping import Housekeeping
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
