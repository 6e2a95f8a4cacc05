"""The dead-letter list: a job that fails every attempt waits for a platform admin, who sees
its error on /admin/jobs (or `porchlight jobs list`) and sends it round again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from porchlight import bootstrap
from porchlight.config import Settings
from porchlight.entrypoints import cli_jobs
from porchlight.entrypoints.cli import app
from porchlight.jobs.domain.jobs import MAX_ATTEMPTS, Job, JobSpec, JobState, retry_delay
from porchlight.jobs.services import jobs
from porchlight.kernel.adapters.db import tables
from tests.e2e.support import Deployment, build_deployment


class DownMailer:
    """A mail server that is down until it is told it is back."""

    def __init__(self) -> None:
        self.up, self.sent = False, []

    def send(self, mail) -> None:
        if not self.up:
            raise ConnectionRefusedError("smtp refused resident_a@example.org")
        self.sent.append(mail)


@pytest.fixture
def d(settings: Settings) -> Deployment:
    return build_deployment(settings, mailer=DownMailer())


def _kill_the_reset_mail(d: Deployment) -> Job:
    email = d.people["resident_a"].email
    d.browser().submit("/password/forgot", {"email": email})
    for attempt in range(1, MAX_ATTEMPTS):  # the inline queue ran the first attempt
        d.clock.advance(retry_delay(attempt))
        d.container.jobs.wake_due()
    with d.container.engine.connect() as connection:
        [row] = connection.execute(select(tables.jobs).where(
            tables.jobs.c.kind == "mail.link")).all()
    return jobs.job_state(d.container.uow(), row.key)


def test_a_job_that_keeps_failing_waits_for_an_admin_who_sends_it_again(d: Deployment) -> None:
    job = _kill_the_reset_mail(d)
    assert (job.state, job.attempts) == (JobState.DEAD, MAX_ATTEMPTS)
    assert job.error == "ConnectionRefusedError"  # not its message, which names the resident
    d.clock.advance(timedelta(minutes=10))  # the link itself lives an hour
    assert d.container.jobs.wake_due() == 0  # dead: no sweep takes it again

    for who in ("resident_a", "officer_x", "admin_x"):
        assert d.signed_in(who).get("/admin/jobs").status_code in (403, 404), who
    admin = d.signed_in("platform_admin")
    page = admin.get("/admin/jobs")
    assert page.status_code == 200
    assert "mail.link" in page.text and "ConnectionRefusedError" in page.text
    assert "resident_a@example.org" not in page.text
    assert f'/admin/jobs/{job.id}/retry' in page.text

    d.mailer.up = True
    assert admin.submit(f"/admin/jobs/{job.id}/retry").status_code == 303
    again = jobs.job_state(d.container.uow(), job.key)
    assert again.state is JobState.DONE and again.attempts == MAX_ATTEMPTS + 1
    assert [m.to for m in d.mailer.sent] == [d.people["resident_a"].email]
    assert "Failed for good (0)" in admin.get("/admin/jobs").text
    assert admin.submit(f"/admin/jobs/{job.id}/retry").status_code == 409  # not dead now


runner = CliRunner()


@pytest.fixture
def cli_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "var"
    monkeypatch.setenv("PORCHLIGHT_DATA_DIR", str(data))
    monkeypatch.setenv("PORCHLIGHT_ENV", "test")
    monkeypatch.delenv("PORCHLIGHT_DATABASE__URL", raising=False)
    monkeypatch.setattr(cli_jobs.console, "width", 80)  # an ordinary terminal
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return data


def test_the_command_line_lists_retries_and_watches_jobs(cli_data: Path) -> None:
    container = bootstrap.build(Settings())
    spec = JobSpec("mail.link", {"token_id": str(uuid4())}, key="mail.link:gone")
    with container.uow() as uow:  # a link mail that died; its link is gone by now
        job = Job.from_spec(spec, now=uow.clock.now())
        job.state, job.attempts, job.error = JobState.DEAD, MAX_ATTEMPTS, "OSError"
        uow.jobs.add_new(job)
        uow.commit()
    container.close()

    listed = runner.invoke(app, ["jobs", "list"])
    assert listed.exit_code == 0 and str(job.id) in listed.output
    assert "OSError" in listed.output
    dead = runner.invoke(app, ["jobs", "watch", "mail.link:gone", "--timeout", "1"])
    assert dead.exit_code == 1 and "dead" in dead.output
    retried = runner.invoke(app, ["jobs", "retry", str(job.id)])
    assert retried.exit_code == 0, retried.output
    watched = runner.invoke(app, ["jobs", "watch", str(job.id), "--timeout", "5"])
    assert watched.exit_code == 0 and "done" in watched.output  # the inline queue ran it
    assert "no dead jobs" in runner.invoke(app, ["jobs", "list"]).output
    again = runner.invoke(app, ["jobs", "retry", str(job.id)])
    assert again.exit_code == 1 and "only a dead job" in again.output
    assert runner.invoke(app, ["jobs", "retry", str(uuid4())]).exit_code == 1


def test_a_job_whose_worker_dies_every_time_ends_in_the_dead_letter_list(d: Deployment) -> None:
    """Each attempt is claimed and never reported back (the handler took its process
    down); after the last lapsed lease the next claim marks it dead, not run again."""
    lease = d.container.jobs.lease
    spec = JobSpec("mail.link", {"token_id": str(uuid4())}, key="mail.link:crashy")
    with d.container.uow() as uow:
        job = Job.from_spec(spec, now=uow.clock.now())
        job.state, job.attempts = JobState.RUNNING, MAX_ATTEMPTS
        job.claimed_until = uow.clock.now()  # the last worker to claim it never came back
        uow.jobs.add_new(job)
        uow.commit()
    d.clock.advance(lease)
    assert d.container.jobs.run(job.id) == "not_due"
    dead = jobs.job_state(d.container.uow(), "mail.link:crashy")
    assert dead.state is JobState.DEAD and dead.error == "WorkerDied"
    assert "WorkerDied" in d.signed_in("platform_admin").get("/admin/jobs").text
