"""Read-modify-writes that two requests can race, on PostgreSQL (READ COMMITTED, where
without a row lock the later commit overwrites the earlier): each case makes two
requests read before either writes, and checks both writes count, or that the second
sees the first's. Each fails with ``uow.lock`` made a no-op."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import Engine

from porchlight import bootstrap
from porchlight.accounts.services import accounts, mfa, registration, signin
from porchlight.accounts.services.commands import RegisterResident
from porchlight.bootstrap import Container
from porchlight.config import Settings
from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.jobs.domain.jobs import Job
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.adapters.db import migrate
from porchlight.kernel.adapters.db.uow import SqlUnitOfWork
from porchlight.kernel.domain.errors import Conflict, SigninRefused, ValidationFailed
from porchlight.kernel.domain.geo import LatLon
from porchlight.requests.services import video_requests
from porchlight.requests.services.commands import CreateVideoRequest
from tests.e2e.support import (
    HOME_A,
    HOME_B,
    RecordingMailer,
    actor,
    add_camera_with_clips,
    build_deployment,
    draft,
)
from tests.integration.conftest import T0, fresh_postgres_database

PASSWORD = "correct horse battery staple"


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    with fresh_postgres_database("porchlight_race") as engine:
        migrate.upgrade(engine)
        yield engine


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def container(settings: Settings, pg_engine: Engine, mailer: RecordingMailer,
              clock: FixedClock) -> Iterator[Container]:
    container = bootstrap.build(settings, engine=pg_engine, mailer=mailer, clock=clock)
    yield container


def _register(container: Container) -> object:
    return accounts.register_resident(
        container.uow(), RegisterResident("ana@example.org", "Ana",
                                                   LatLon(45.5, -122.6), PASSWORD),
        container.security.passwords)


def _both_at_the_lock(monkeypatch: pytest.MonkeyPatch, only: type | None = None) -> None:
    """Make two units of work meet before either takes its first row lock (of an ``only``
    entity): both have read. Later locks in the same thread go ahead without meeting."""
    both_read = threading.Barrier(2, timeout=10)
    met = threading.local()
    lock = SqlUnitOfWork.lock

    def meet_then_lock(self: SqlUnitOfWork, entity: object) -> None:
        if not getattr(met, "done", False) and (only is None or isinstance(entity, only)):
            met.done = True
            both_read.wait()
        lock(self, entity)

    monkeypatch.setattr(SqlUnitOfWork, "lock", meet_then_lock)


def _at_once(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads at once; each one's result, or the exception it raised."""
    outcomes: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            outcomes[index] = calls[index]()
        except Exception as error:  # the outcome under test
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_wrong_passwords_at_once_both_count(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    sec = container.security
    account_id = _register(container)
    _both_at_the_lock(monkeypatch)
    outcomes = _at_once(*[
        lambda: signin.sign_in(container.uow(), sec, "ana@example.org", "not the password")
    ] * 2)
    assert all(isinstance(o, SigninRefused) for o in outcomes), outcomes
    with container.uow().reading() as uow:
        assert len(uow.accounts.get(account_id).failed_signins) == 2


def test_a_reset_link_used_twice_at_once_works_once(
    container: Container, mailer: RecordingMailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sec = container.security
    account_id = _register(container)
    registration.request_password_reset(container.uow(), sec, "ana@example.org")
    signed = mailer.last_link("ana@example.org").rsplit("/", 1)[1]
    _both_at_the_lock(monkeypatch)
    first, second = "first new passphrase 1", "second new passphrase 2"
    outcomes = _at_once(
        lambda: registration.reset_password(container.uow(), sec, signed, first),
        lambda: registration.reset_password(container.uow(), sec, signed, second))
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(refused) == 1, outcomes
    winner = first if outcomes[0] is None else second
    with container.uow().reading() as uow:
        stored = uow.accounts.get(account_id).password_hash
    assert sec.passwords.verify(stored, winner)


def test_one_code_sent_by_two_sessions_at_once_completes_one(
    container: Container, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    sec = container.security
    account_id = _register(container)
    uow = container.uow()
    with uow:
        account = uow.accounts.get(account_id)
        secret = mfa.start_enrolment(sec, account)
        mfa.finish_enrolment(uow, sec, account, pyotp.TOTP(secret).at(clock.now()), clock.now())
        uow.commit()
    clock.advance(timedelta(seconds=60))  # a fresh time step, unused so far
    sessions = [signin.sign_in(container.uow(), sec, "ana@example.org", PASSWORD)
                for _ in range(2)]
    assert all(s.needs_mfa for s in sessions)
    code = pyotp.TOTP(secret).at(clock.now())
    _both_at_the_lock(monkeypatch)
    outcomes = _at_once(*(
        (lambda s=s: signin.verify_second_step(container.uow(), sec, s.session_id, code))
        for s in sessions))
    assert sum(o is None for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, ValidationFailed) for o in outcomes) == 1, outcomes
    with container.uow().reading() as uow:
        verified = [uow.sessions.get(s.session_id).mfa_verified_at for s in sessions]
    assert sum(v is not None for v in verified) == 1


def test_two_delivery_runs_at_once_reach_each_resident_once(
    settings: Settings, pg_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = build_deployment(settings, engine=pg_engine)
    with d.container.uow() as uow:
        uow.agencies.get(d.agency_x).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    clip = make_demo_clip(tmp_path / "clip.mp4", seconds=1, width=160, height=96, seed=1)
    in_window = [timedelta(hours=2, minutes=40)]
    add_camera_with_clips(d, "resident_a", HOME_A, [clip], in_window)
    add_camera_with_clips(d, "resident_b", HOME_B, [clip], in_window)
    kit = d.container.requests_kit
    with monkeypatch.context() as later:  # created, not yet delivered
        later.setattr(video_requests, "deliver", lambda *args: 0)
        request_id = video_requests.create_request(d.container.uow(), kit,
                                                   actor(d, "officer_x"),
                                                       CreateVideoRequest(draft(d)))
    _both_at_the_lock(monkeypatch)
    outcomes = _at_once(*[lambda: video_requests.deliver(d.container.uow(), kit, request_id)] * 2)
    assert all(isinstance(o, int) for o in outcomes), outcomes  # neither run failed
    assert sorted(outcomes) == [0, 2]  # the second run found both residents reached
    with d.container.uow().reading() as uow:
        reached = [x.resident_id for x in uow.deliveries.for_request(request_id)]
    assert sorted(reached) == sorted([d.people["resident_a"].id, d.people["resident_b"].id])
    assert len([m for m in d.mailer.sent if "video request" in m.subject]) == 2


class HeldQueue:
    """A queue that only remembers its wake-ups, so the test decides when jobs run."""

    def __init__(self) -> None:
        self.woken: list[object] = []

    def wake(self, job_id: object, delay_seconds: float = 0.0) -> None:
        self.woken.append(job_id)


def test_two_workers_woken_for_one_job_run_it_once(
    settings: Settings, pg_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both workers read the job before either claims it; the row lock lets one run it."""
    d = build_deployment(settings, engine=pg_engine)
    with d.container.uow() as uow:
        uow.agencies.get(d.agency_x).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    clip = make_demo_clip(tmp_path / "clip.mp4", seconds=1, width=160, height=96, seed=1)
    add_camera_with_clips(d, "resident_a", HOME_A, [clip], [timedelta(hours=2, minutes=40)])
    held = HeldQueue()
    d.container.jobs.queue = held
    video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                  actor(d, "officer_x"), CreateVideoRequest(draft(d)))
    [deliver_job] = held.woken
    assert d.container.jobs.run(deliver_job) == "ran"
    [notice_job] = held.woken[1:]  # the delivery's notice, woken but not run
    _both_at_the_lock(monkeypatch, only=Job)
    outcomes = _at_once(*[lambda: d.container.jobs.run(notice_job)] * 2)
    assert sorted(outcomes) == ["not_due", "ran"], outcomes
    assert [m.to for m in d.mailer.sent if "video request" in m.subject] == [
        "resident_a@example.org"]


def test_two_copy_requests_at_once_keep_the_cap_on_copies_in_flight(
    settings: Settings, pg_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from porchlight.redaction.domain.copies import MAX_OPEN_PER_CLIP
    from porchlight.redaction.domain.options import RedactionOptions
    from porchlight.redaction.services import copies

    d = build_deployment(settings, engine=pg_engine)
    clip = make_demo_clip(tmp_path / "clip.mp4", seconds=1, width=160, height=96, seed=1)
    _, [clip_id] = add_camera_with_clips(d, "resident_a", HOME_A, [clip],
                                         [timedelta(hours=2)])
    d.container.jobs.queue = HeldQueue()  # the copies stay queued
    owner = actor(d, "resident_a")
    for _ in range(MAX_OPEN_PER_CLIP - 1):
        copies.request_copy(d.container.uow(), owner, clip_id, RedactionOptions())
    _both_at_the_lock(monkeypatch)
    outcomes = _at_once(*[
        lambda: copies.request_copy(d.container.uow(), owner, clip_id, RedactionOptions())] * 2)
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1, outcomes
    with d.container.uow().reading() as uow:
        assert len(list(uow.redactions.for_clip(clip_id))) == MAX_OPEN_PER_CLIP

