"""The kill test: 200 jobs of mixed kinds, run by real `porchlight worker` processes that are
SIGKILLed at random points and started again until every job is done; then every job must
have taken effect exactly once: no evidence item twice, no mail twice, none missing.

The jobs: 20 evidence derivations (one consent of one clip each, granted before the
workers start), 12 request deliveries (requests that go out on the officer's word, each
reaching 14 residents) and the 168 request-notice mails those deliveries call for (made by
the workers as they deliver). The workers are configured through PORCHLIGHT_* variables
only, like a deployment's: the embedded queue (SQLite database and huey on a SQLite file
in the same data folder) and, when PORCHLIGHT_TEST_REDIS_URL and
PORCHLIGHT_TEST_POSTGRES_URL are set, huey on Redis with a PostgreSQL database. The mail
backend is the mail log (`<data_dir>/mail.log`) the workers append to; each message is
counted by its idempotency key (its Message-ID). The kill schedule is seeded; the timing
of a process is not, so a run hits different lines each time, and each run must pass.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from porchlight.accounts.services import accounts
from porchlight.accounts.services.commands import RegisterResident
from porchlight.audit.adapters.keys import load_or_create_signer
from porchlight.config import Settings
from porchlight.footage.adapters.video.demo import make_demo_clip
from porchlight.jobs.domain.jobs import JobState
from porchlight.kernel.adapters.db import tables
from porchlight.kernel.domain.geo import LatLon
from porchlight.requests.domain.consent import SharingScope
from porchlight.requests.services import answers, video_requests
from porchlight.requests.services.commands import CreateVideoRequest, GrantConsent
from tests.conftest import POSTGRES_URL, skip_or_fail
from tests.e2e.support import (
    HOME_A,
    Deployment,
    Person,
    actor,
    add_camera_with_clips,
    build_deployment,
    draft,
)

REDIS_URL = os.environ.get("PORCHLIGHT_TEST_REDIS_URL")
SEED = 14
RESIDENTS = 14  # each with a camera and one clip in every request's window
CONSENT_REQUESTS = 2  # delivered before the workers start; 10 residents consent to each
CONSENTS_PER_REQUEST = 10
KILL_REQUESTS = 12  # delivered by the workers: 12 deliveries and 12 x 14 mails
EXPECTED = {"evidence.derive": CONSENT_REQUESTS * CONSENTS_PER_REQUEST,
            "request.deliver": KILL_REQUESTS,
            "mail.request_notice": KILL_REQUESTS * RESIDENTS}
WORKERS = 2
LEASE_SECONDS = 2.0  # a killed worker's job is claimed again this soon
MAX_KILLS = 30  # then the workers are left to finish, so the test ends
TIME_LIMIT = 180.0


@dataclass
class Workers:
    """`porchlight worker` processes with an environment of PORCHLIGHT_* variables."""

    env: dict[str, str]
    logs: Path
    procs: list[subprocess.Popen] = field(default_factory=list)
    started: int = 0
    kills: int = 0

    def start(self) -> subprocess.Popen:
        self.started += 1
        log = (self.logs / f"worker-{self.started}.log").open("wb")
        proc = subprocess.Popen([str(Path(sys.executable).with_name("porchlight")), "worker"],
                                env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                cwd=self.logs, start_new_session=True)
        log.close()
        return proc

    def kill(self, index: int) -> None:
        os.killpg(self.procs[index].pid, signal.SIGKILL)  # the worker and its video children
        self.procs[index].wait()
        self.kills += 1
        self.procs[index] = self.start()

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def tail(self) -> str:
        newest = sorted(self.logs.glob("worker-*.log"), key=lambda p: p.stat().st_mtime)[-2:]
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in newest)


def worker_env(settings: Settings, database_url: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PORCHLIGHT_")}
    env.update({
        "PORCHLIGHT_ENV": "test",
        "PORCHLIGHT_DATA_DIR": str(settings.data_dir.resolve()),
        "PORCHLIGHT_JOBS__BACKEND": settings.jobs.backend or "",
        "PORCHLIGHT_JOBS__QUEUE_NAME": settings.jobs.queue_name,
        "PORCHLIGHT_JOBS__WORKERS": "2",
        "PORCHLIGHT_JOBS__LEASE_SECONDS": str(LEASE_SECONDS),
        "PORCHLIGHT_JOBS__SWEEP_INTERVAL_SECONDS": "1",
        "PORCHLIGHT_AUDIT__SEQUENCE_INTERVAL_SECONDS": "0.5",
        "PORCHLIGHT_MAIL__BACKEND": "log",
        "PORCHLIGHT_STORAGE__VIDEO_SPARE_WORKER": "false",
    })
    if database_url:
        env["PORCHLIGHT_DATABASE__URL"] = database_url
    if settings.redis_url:
        env["PORCHLIGHT_REDIS_URL"] = settings.redis_url
    return env


@pytest.fixture(params=["embedded", "redis+postgres"])
def backend(request: pytest.FixtureRequest, settings: Settings
            ) -> Iterator[tuple[Settings, str | None]]:
    name = f"kill-{uuid.uuid4().hex[:12]}"  # a queue of its own on a shared Redis
    if request.param == "embedded":
        yield settings.model_copy(update={"jobs": settings.jobs.model_copy(update={
            "backend": "sqlite", "queue_name": name})}), None
        return
    if not REDIS_URL or not POSTGRES_URL:
        skip_or_fail("PORCHLIGHT_TEST_REDIS_URL and PORCHLIGHT_TEST_POSTGRES_URL are not both "
                     "set; the kill test on Redis and PostgreSQL is skipped")
    from tests.integration.conftest import fresh_postgres_database

    with fresh_postgres_database("porchlight_kill") as engine:
        url = engine.url.render_as_string(hide_password=False)
        yield settings.model_copy(update={
            "redis_url": REDIS_URL,
            "database": settings.database.model_copy(update={"url": url}),
            "jobs": settings.jobs.model_copy(update={"backend": "redis", "queue_name": name})},
        ), url


def _residents(d: Deployment, clip: Path) -> list[UUID]:
    """RESIDENTS residents within 100 m of the incident, each with one clip in the window."""
    ids = []
    for n in range(RESIDENTS):
        key = f"kill_{n}"
        where = LatLon(HOME_A.lat + 0.0001 * (n % 7), HOME_A.lon + 0.0002 * (n // 7))
        account_id = accounts.register_resident(d.container.uow(), RegisterResident(
            f"{key}@example.org", f"Resident {n}", where, "correct horse battery staple"),
            d.container.security.passwords)
        d.people[key] = Person(key, account_id, f"{key}@example.org")
        add_camera_with_clips(d, key, where, [clip], [timedelta(hours=2, minutes=40)])
        ids.append(account_id)
    return ids


def _run_pending_here(d: Deployment) -> None:
    """Run the jobs waiting now in this process (the setup's deliveries and mails)."""
    while True:
        with d.container.uow().reading() as uow:
            due = [job.id for job in uow.jobs.due(uow.clock.now(), 500)]
        if not due:
            return
        for job_id in due:
            assert d.container.jobs.run(job_id) == "ran"


def _consents(d: Deployment) -> None:
    """CONSENT_REQUESTS delivered requests, CONSENTS_PER_REQUEST residents consenting to
    each: the evidence jobs wait for the workers."""
    for n in range(CONSENT_REQUESTS):
        video_requests.create_request(d.container.uow(), d.container.requests_kit,
                                      actor(d, "officer_x"),
                                      CreateVideoRequest(draft(d, case_number=f"C-{n}")))
    _run_pending_here(d)
    for n in range(RESIDENTS)[:CONSENTS_PER_REQUEST]:
        resident = actor(d, f"kill_{n}")
        for item in answers.inbox(d.container.uow(), resident):
            _, shown = answers.disclosure(d.container.uow(), resident, item.delivery.id)
            answers.give_consent(d.container.uow(), resident, GrantConsent(
                item.delivery.id, clip_ids=frozenset({shown.clips[0].id}),
                scope=SharingScope.THIS_AGENCY, share_contact=False,
                disclosure_sha256=shown.sha256))


@pytest.fixture
def deployment(backend: tuple[Settings, str | None], tmp_path: Path) -> Iterator[Deployment]:
    settings, _ = backend
    d = build_deployment(settings)
    d.clock.set(datetime.now(UTC))  # the workers run on the real clock
    with d.container.uow() as uow:
        uow.agencies.get(d.agency_x).verify(now=uow.clock.now(), actor_id=None)
        uow.commit()
    load_or_create_signer(settings.audit_key_file, settings.origin)  # not raced by workers
    clip = make_demo_clip(tmp_path / "c.mp4", seconds=1, width=160, height=96, seed=4)
    _residents(d, clip)
    yield d
    queue = d.container.queue
    if settings.jobs.backend == "redis":
        queue.huey.flush()  # type: ignore[attr-defined]  # leave the shared Redis clean
    d.container.close()


def _kill_phase_jobs(d: Deployment, before: set[UUID]) -> list[Any]:
    with d.container.engine.connect() as connection:
        rows = connection.execute(select(tables.jobs.c.id, tables.jobs.c.kind,
                                         tables.jobs.c.state, tables.jobs.c.attempts)).all()
    # audit.sequence jobs (one per second of commits) come and go with timing: not counted
    return [row for row in rows if row.id not in before and row.kind != "audit.sequence"]


def _all_done(rows: list[Any]) -> bool:
    kinds = Counter(row.kind for row in rows)
    return kinds == Counter(EXPECTED) and all(row.state == JobState.DONE for row in rows)


def _run_with_kills(d: Deployment, workers: Workers, before: set[UUID]) -> list[Any]:
    rng = random.Random(SEED)
    workers.procs = [workers.start() for _ in range(WORKERS)]
    deadline = time.monotonic() + TIME_LIMIT
    rows = _kill_phase_jobs(d, before)
    while not _all_done(rows):
        assert time.monotonic() < deadline, (
            f"jobs left undone after {workers.kills} kills: "
            f"{Counter((r.kind, str(r.state)) for r in rows)}\n{workers.tail()}")
        # a random point: starting up, claiming, mid-job, idle. Often enough that the
        # 200 jobs (about 12 s of work for two unhindered workers) take ten kills or more
        pause = rng.uniform(0.15, 1.2)
        victim = rng.randrange(WORKERS)
        end = time.monotonic() + pause
        while time.monotonic() < end:
            time.sleep(0.1)
            if _all_done(rows := _kill_phase_jobs(d, before)):
                break
        else:
            if workers.kills < MAX_KILLS:
                workers.kill(victim)
    workers.stop()
    return rows


def _mail_keys(settings: Settings) -> Counter[str]:
    path = settings.data_dir / "mail.log"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return Counter(json.loads(line)["key"] for line in lines)


def test_killed_workers_do_every_job_exactly_once(deployment: Deployment, tmp_path: Path,
                                                  backend: tuple[Settings, str | None]) -> None:
    d = deployment
    settings, database_url = backend
    _consents(d)
    kill_requests = [video_requests.create_request(
        d.container.uow(), d.container.requests_kit, actor(d, "officer_x"),
        CreateVideoRequest(draft(d, case_number=f"K-{n}"))) for n in range(KILL_REQUESTS)]
    with d.container.engine.connect() as connection:
        before = {row.id for row in connection.execute(
            select(tables.jobs.c.id).where(tables.jobs.c.state == JobState.DONE))}
    assert not _mail_keys(settings)  # the setup mailed through the test's recorder only

    logs = tmp_path / "logs"
    logs.mkdir()
    workers = Workers(worker_env(settings, database_url), logs)
    try:
        rows = _run_with_kills(d, workers, before)
    finally:
        workers.stop()

    reclaimed = sum(row.attempts - 1 for row in rows)
    print(f"{workers.kills} kills, {workers.started} worker processes, {reclaimed} jobs "
          "claimed again after a kill, a lapsed lease or a failure")
    assert workers.kills >= 10, f"only {workers.kills} kills: the test proved little"
    assert Counter(row.kind for row in rows) == Counter(EXPECTED)
    assert {row.state for row in rows} == {JobState.DONE}
    _assert_evidence_once(d)
    _assert_mail_once(d, settings, kill_requests)


def _assert_evidence_once(d: Deployment) -> None:
    with d.container.engine.connect() as connection:
        items = connection.execute(select(tables.evidence_items.c.consent_id,
                                          tables.evidence_items.c.source_clip_id)).all()
        consents = connection.execute(select(tables.consents.c.id)).scalars().all()
        received = connection.execute(select(func.count()).select_from(tables.audit_events)
                                      .where(tables.audit_events.c.kind == "evidence.received")
                                      ).scalar()
    assert len(consents) == EXPECTED["evidence.derive"]
    per_consent = Counter(item.consent_id for item in items)
    assert per_consent == Counter(dict.fromkeys(consents, 1)), "an item missing or twice"
    assert received == len(consents), "evidence.received recorded twice or not at all"


def _assert_mail_once(d: Deployment, settings: Settings, requests: list[UUID]) -> None:
    with d.container.uow().reading() as uow:
        deliveries = [delivery for request_id in requests
                      for delivery in uow.deliveries.for_request(request_id)]
    assert len(deliveries) == KILL_REQUESTS * RESIDENTS
    assert all(delivery.notified_at is not None for delivery in deliveries)
    sent = _mail_keys(settings)
    twice = {key: n for key, n in sent.items() if n > 1}
    assert not twice, f"mailed more than once: {twice}"
    assert set(sent) == {f"request-notice.{delivery.id}" for delivery in deliveries}
