"""Jobs: claimed once under a lease, retried with backoff, dead after the last attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from porchlight.jobs.domain.jobs import MAX_ATTEMPTS, Job, JobDied, JobSpec, JobState, retry_delay
from porchlight.kernel.domain.errors import Conflict

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


def job(**changes) -> Job:
    return Job.from_spec(JobSpec("evidence.derive", {"consent_id": "x"}, key="k", **changes),
                         now=NOW)


def test_a_job_is_claimed_once_and_again_only_when_the_claim_lapses() -> None:
    j = job()
    assert j.claim(now=NOW, lease=LEASE) and j.attempts == 1
    assert not j.claim(now=NOW + timedelta(minutes=1), lease=LEASE)  # another worker
    assert j.claim(now=NOW + LEASE, lease=LEASE) and j.attempts == 2  # its worker died
    j.progress(3, 10, now=NOW + LEASE + timedelta(minutes=1), lease=LEASE)  # renewed
    assert not j.claim(now=NOW + 2 * LEASE + timedelta(seconds=30), lease=LEASE)
    j.succeed(now=NOW + 3 * LEASE)
    assert j.state is JobState.DONE and j.progress_done == 10
    assert not j.claim(now=NOW + timedelta(days=1), lease=LEASE)


def test_a_delayed_job_waits_for_its_time() -> None:
    j = job(delay=timedelta(seconds=30))
    assert not j.claim(now=NOW + timedelta(seconds=29), lease=LEASE)
    assert j.claim(now=NOW + timedelta(seconds=30), lease=LEASE)


def test_failures_wait_longer_each_time_then_the_job_is_dead() -> None:
    j = job()
    delays = []
    moment = NOW
    while True:
        assert j.claim(now=moment, lease=LEASE)
        delay = j.fail("ConnectionRefusedError: smtp at mail.example.org", now=moment)
        if delay is None:
            break
        delays.append(delay)
        assert not j.claim(now=moment + delay - timedelta(seconds=1), lease=LEASE)
        moment += delay
    assert delays == [retry_delay(n) for n in range(1, MAX_ATTEMPTS)]
    assert delays == sorted(delays) and delays[0] == timedelta(seconds=5)
    assert j.state is JobState.DEAD and j.attempts == MAX_ATTEMPTS
    [died] = [e for e in j.pull_events() if isinstance(e, JobDied)]
    assert died.audit_payload()["error"] == "connectionrefusederror"  # no host, no message


def test_an_admin_retries_a_dead_job_with_fresh_attempts() -> None:
    j = job()
    with pytest.raises(Conflict):
        j.retry(now=NOW, actor_id=uuid4())
    for _ in range(MAX_ATTEMPTS):
        j.claim(now=NOW + timedelta(days=1), lease=LEASE)
        j.fail("Boom", now=NOW)
    assert j.state is JobState.DEAD
    j.retry(now=NOW + timedelta(days=2), actor_id=uuid4())
    assert j.claim(now=NOW + timedelta(days=2), lease=LEASE)
    assert j.fail("Boom", now=NOW + timedelta(days=2)) is not None  # not dead at once


def test_retry_delays_are_capped_at_an_hour() -> None:
    assert retry_delay(30) == timedelta(hours=1)


@pytest.mark.parametrize("offset_ms", [0, 1, 499, 999])
def test_one_sequencing_job_per_window_due_at_its_end(offset_ms: int) -> None:
    from datetime import UTC, datetime, timedelta

    from porchlight.kernel.services.messagebus import sequence_audit_log

    start = datetime(2026, 12, 4, 12, 0, 7, tzinfo=UTC)
    now = start + timedelta(milliseconds=offset_ms)
    spec = sequence_audit_log(now, timedelta(seconds=1))
    assert spec.key == sequence_audit_log(start, timedelta(seconds=1)).key  # same window
    assert now + spec.delay == start + timedelta(seconds=1)  # due when the window ends
    assert timedelta(0) < spec.delay <= timedelta(seconds=1)  # never at once
    later = sequence_audit_log(start + timedelta(seconds=1), timedelta(seconds=1))
    assert later.key != spec.key


def test_the_sweeper_wakes_only_jobs_later_than_their_own_wake_up_would_be() -> None:
    """On a queue that schedules its own wake-ups, a job due a moment ago has one on its
    way: waking it again on every sweep would pile claims onto a backlog."""
    from porchlight.jobs.services.jobs import JobRunner
    from porchlight.kernel.adapters.clock import FixedClock
    from tests.unit.fake_uow import FakeUnitOfWork

    clock = FixedClock(NOW)
    uow = FakeUnitOfWork(clock)
    woken: list = []

    class Queue:
        def wake(self, job_id, delay_seconds: float = 0.0) -> None:
            woken.append(job_id)

    with uow:
        uow.jobs.add_new(job())
        uow.commit()
    runner = JobRunner(lambda: uow, {}, Queue(), sweep_grace=timedelta(seconds=10))
    clock.advance(timedelta(seconds=9))
    assert runner.wake_due() == 0 and woken == []
    clock.advance(timedelta(seconds=2))
    assert runner.wake_due() == 1 and len(woken) == 1
    assert JobRunner(lambda: uow, {}, Queue()).wake_due() == 1  # the inline queue: at once


def test_a_job_that_kills_its_worker_every_time_is_dead_after_its_attempts() -> None:
    """A crash or an out-of-memory kill never reaches ``fail``: the claim counts it."""
    j = job()
    moment = NOW
    for _ in range(MAX_ATTEMPTS):
        assert j.claim(now=moment, lease=LEASE)
        moment += LEASE  # the worker died: its lease lapses
    assert j.due(moment)
    assert not j.claim(now=moment, lease=LEASE)  # not run a seventh time
    assert j.state is JobState.DEAD and j.attempts == MAX_ATTEMPTS
    assert j.error == "WorkerDied" and not j.due(moment + timedelta(days=1))
    [died] = [e for e in j.pull_events() if isinstance(e, JobDied)]
    assert died.attempts == MAX_ATTEMPTS


def test_finished_jobs_are_pruned_a_batch_at_a_time_and_dead_ones_kept() -> None:
    from porchlight.jobs.services.jobs import prune_finished
    from porchlight.kernel.adapters.clock import FixedClock
    from tests.unit.fake_uow import FakeUnitOfWork

    clock = FixedClock(NOW)
    uow = FakeUnitOfWork(clock)
    with uow:
        for n in range(5):
            finished = Job.from_spec(JobSpec("mail.link", {}, key=f"old-{n}"), now=NOW)
            finished.succeed(now=NOW)
            uow.jobs.add_new(finished)
        dead = Job.from_spec(JobSpec("mail.link", {}, key="dead"), now=NOW)
        dead.state, dead.finished_at = JobState.DEAD, NOW
        uow.jobs.add_new(dead)
        uow.commit()
    clock.advance(timedelta(days=6))
    assert prune_finished(uow, timedelta(days=7), batch=2) == 0  # kept a week
    clock.advance(timedelta(days=2))
    assert prune_finished(uow, timedelta(days=7), batch=2) == 5
    with uow.reading():
        assert [j.key for j in uow.jobs.listed(list(JobState), 10)] == ["dead"]


def test_a_new_checkpoint_asks_the_witnesses_and_a_witness_that_refuses_is_retried() -> None:
    """audit.sequence that signed a checkpoint asks for one audit.witness job per size;
    that job fails (and so is retried, then listed dead) while a witness does not cosign."""
    from porchlight.audit.services.log import SequenceResult
    from porchlight.audit.services.witness import Collected
    from porchlight.jobs.services.handlers import JobKit, WitnessUnavailable, handlers
    from porchlight.kernel.adapters.clock import FixedClock
    from tests.unit.fake_uow import FakeUnitOfWork

    class Signed:
        size = 42

    uow = FakeUnitOfWork(FixedClock(NOW))
    answers = [[Collected("w1", 42, True, "ok"), Collected("w2", 42, False, "refused")]]
    kit = JobKit(uow=lambda: uow, footage=lambda: None, requests=None, security=None,
                 workdir=None, sequence=lambda: SequenceResult(3, 42, Signed()),
                 sequence_every=timedelta(seconds=1), checkpoint_every=timedelta(seconds=5),
                 collect_cosignatures=lambda: answers[-1])
    run = handlers(kit)
    for _ in range(2):  # the same checkpoint twice: one job
        run["audit.sequence"]({}, lambda done, total=None: None)
    with uow.reading():
        asked = [j for j in uow.jobs.listed([JobState.PENDING], 10) if j.kind == "audit.witness"]
    assert [(j.key, j.args) for j in asked] == [("audit.witness:42", {"size": 42})]
    with pytest.raises(WitnessUnavailable, match="w2"):
        run["audit.witness"]({"size": 42}, lambda done, total=None: None)
    answers.append([Collected("w1", 42, True, "ok"), Collected("w2", 42, True, "ok")])
    run["audit.witness"]({"size": 42}, lambda done, total=None: None)  # both cosigned
