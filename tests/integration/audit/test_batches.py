"""The public log's batches with a deployment's settings: one per window, padded, shuffled,
the window's time only; commitments that open, staff committed, secrets that can go."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import timedelta

from sqlalchemy import Engine, insert, select, update

from porchlight.audit.adapters.sql_log import SqlAuditLogStore
from porchlight.audit.adapters.sql_source import SqlAuditLogSource
from porchlight.audit.adapters.tables import audit_leaves, audit_openings
from porchlight.audit.domain import CheckpointVerifier, disclosure
from porchlight.audit.services.log import Sequencer, SequencerConfig, leaf_matches
from porchlight.audit.services.verify import verify_log
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.adapters.db import tables
from tests.integration.audit.conftest import ORIGIN, SIGNER, T0, add_events

STAFF = uuid.UUID(int=77)


def sequencer(engine: Engine, clock: FixedClock, **options) -> Sequencer:
    config = SequencerConfig(ORIGIN, options.pop("batch_size", 5000), timedelta(0), **options)
    return Sequencer(SqlAuditLogStore(engine), SIGNER, clock, config)


def leaves(engine: Engine) -> list[dict]:
    with engine.connect() as connection:
        return [json.loads(data) for data in connection.execute(
            select(audit_leaves.c.data).order_by(audit_leaves.c.leaf_index)).scalars()]


def add_staff_events(engine: Engine, count: int) -> None:
    with engine.begin() as connection:
        connection.execute(insert(tables.audit_events), [{
            "kind": "request.approved", "version": 1, "occurred_at": T0, "actor_id": STAFF,
            "payload": {"request_id": str(uuid.UUID(int=500 + n))}} for n in range(count)])


def happen(engine: Engine, clock: FixedClock, count: int, kind: str = "signin.succeeded"
           ) -> None:
    """``count`` events occurring now (a resident's, unless ``kind`` says otherwise)."""
    with engine.begin() as connection:
        connection.execute(insert(tables.audit_events), [{
            "kind": kind, "version": 1, "occurred_at": clock.now(),
            "actor_id": uuid.UUID(int=n + 1), "payload": {"n": n}} for n in range(count)])


def test_a_batch_holds_a_closed_window_padded_and_timed_by_it(
    engine: Engine, clock: FixedClock
) -> None:
    seq = sequencer(engine, clock)
    clock.advance(timedelta(seconds=23))  # 12:00:23 on day two
    happen(engine, clock, 3)
    happen(engine, clock, 2, "request.approved")
    assert seq.run_pass().sequenced == 0  # their minute is still open
    clock.advance(timedelta(seconds=42))  # 12:01:05
    first = seq.run_pass()
    assert first.sequenced == 5 and first.size == 16 + 2  # 3 commitments padded to 16
    happen(engine, clock, 40)
    clock.advance(timedelta(seconds=30))  # 12:01:35: this minute is open, the last has its batch
    assert seq.run_pass().sequenced == 0
    assert seq.run_pass(force=True).sequenced == 40  # the operator's manual run: this minute
    clock.advance(timedelta(seconds=35))  # 12:02:10
    happen(engine, clock, 1)
    assert seq.run_pass().sequenced == 0  # 12:01 has its (forced) batch; 12:02 is open
    clock.advance(timedelta(seconds=51))  # 12:03:01
    assert seq.run_pass().sequenced == 1
    found = leaves(engine)
    times = Counter(leaf["time"] for leaf in found)
    assert times == {"2026-11-02T12:00:00Z": 18, "2026-11-02T12:01:00Z": 48,
                     "2026-11-02T12:02:00Z": 16}
    assert Counter("commitment" in leaf for leaf in found) == {True: 16 + 48 + 16, False: 2}


def test_an_event_of_an_open_window_waits_even_behind_a_straggler(
    engine: Engine, clock: FixedClock
) -> None:
    """Ids and times can cross (a slow transaction): the batch takes every id up to the
    last event of the closed window, so nothing is left behind out of order."""
    seq = sequencer(engine, clock)
    clock.advance(timedelta(seconds=59))
    happen(engine, clock, 1)  # id 1 at 12:00:59
    clock.advance(timedelta(seconds=2))
    happen(engine, clock, 1)  # id 2 at 12:01:01
    clock.advance(timedelta(seconds=-1.5))
    happen(engine, clock, 1)  # id 3 at 12:00:59.5, committed last
    clock.advance(timedelta(seconds=2))  # 12:01:01.5
    assert seq.run_pass().sequenced == 3  # id 2 rides along with 1 and 3
    assert seq.run_pass().sequenced == 0


def test_leaves_are_shuffled_inside_a_batch(engine: Engine, clock: FixedClock) -> None:
    add_staff_events(engine, 20)
    add_events(engine, 20)
    sequencer(engine, clock).run_pass()
    with engine.connect() as connection:
        order = connection.execute(select(audit_leaves.c.event_id).order_by(
            audit_leaves.c.leaf_index)).scalars().all()
    real = [e for e in order if e is not None]
    assert sorted(real) == list(range(1, 41)) and real != sorted(real)
    assert order.count(None) == 32 - 20  # padding has no event


def test_a_staff_action_is_readable_with_its_actor_committed(
    engine: Engine, clock: FixedClock
) -> None:
    with engine.begin() as connection:
        agency = uuid.UUID(int=9)
        connection.execute(insert(tables.agencies).values(
            id=agency, name="X", kind="municipal_police", center_lat=45.5, center_lon=-122.6,
            radius_m=1000, created_at=T0))
        connection.execute(insert(tables.accounts).values(
            id=STAFF, email="s@x.example", display_name="S", kind="staff", created_at=T0,
            agency_id=agency, staff_role="supervisor", failed_signins=[]))
    add_staff_events(engine, 2)
    sequencer(engine, clock).run_pass()
    public = [leaf for leaf in leaves(engine) if "kind" in leaf]
    assert [leaf["actor"]["role"] for leaf in public] == ["supervisor", "supervisor"]
    assert {leaf["actor"]["agency_id"] for leaf in public} == {str(agency)}
    assert public[0]["actor"]["commitment"] != public[1]["actor"]["commitment"]
    assert str(STAFF) not in json.dumps(public)
    with SqlAuditLogStore(engine).reading() as log:
        opened = log.openings(agency_id=agency)
    assert {o.account_id for o in opened} == {STAFF} and {o.slot for o in opened} == {"actor"}
    for o in opened:
        leaf = next(leaf for leaf in public if leaf["payload"]["request_id"] ==
                    o.event.payload["request_id"])
        assert leaf["actor"]["commitment"] == disclosure.commit_identity(o.secret, str(STAFF))


def test_verification_checks_commitments_and_batch_order(
    engine: Engine, clock: FixedClock
) -> None:
    seq = sequencer(engine, clock)
    add_events(engine, 10)
    add_staff_events(engine, 3)
    seq.run_pass()
    clock.advance(timedelta(minutes=1))
    add_events(engine, 10, start=13)
    seq.run_pass()
    verifier = CheckpointVerifier(SIGNER.verifier_key, origin=ORIGIN)
    with SqlAuditLogSource.open(engine) as source:
        assert verify_log(source, verifier, events=source).ok
        assert all(leaf.event is None or leaf_matches(leaf.data, leaf.event, leaf.secrets)
                   for rows in source.leaf_events(source.size()) for leaf in rows)
    # A resident event rewritten afterwards no longer opens its commitment.
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_events_append_only ON audit_events")
        connection.execute(update(tables.audit_events).where(tables.audit_events.c.id == 4)
                           .values(payload={"n": 999}))
        index = connection.execute(select(audit_leaves.c.leaf_index).where(
            audit_leaves.c.event_id == 4)).scalar_one()
    with SqlAuditLogSource.open(engine) as source:
        report = verify_log(source, verifier, events=source)
    assert [p.code for p in report.problems] == ["event_mismatch"]
    assert report.first_bad_index == index


def test_forgotten_secrets_leave_commitments_that_cannot_be_checked_or_opened(
    engine: Engine, clock: FixedClock
) -> None:
    seq = sequencer(engine, clock)
    add_events(engine, 6)
    seq.run_pass()
    resident = uuid.UUID(int=2)  # the actor of event 2 (tests' events name their actor)
    assert seq.forget(resident) == 1
    with engine.connect() as connection:
        left = connection.execute(select(audit_openings.c.account_id)).scalars().all()
    assert resident not in left and len(left) == 5
    with SqlAuditLogSource.open(engine) as source:
        verifier = CheckpointVerifier(SIGNER.verifier_key, origin=ORIGIN)
        assert verify_log(source, verifier, events=source).ok  # unopenable is not damage
        outcomes = [leaf_matches(leaf.data, leaf.event, leaf.secrets)
                    for rows in source.leaf_events(source.size()) for leaf in rows
                    if leaf.event is not None]
    assert Counter(outcomes) == {True: 5, None: 1}


def test_padding_counts() -> None:
    assert [disclosure.padding_count(n, 16) for n in (0, 1, 15, 16, 17, 40)] == [
        16, 15, 1, 0, 15, 8]
    assert disclosure.batch_time(T0 + timedelta(seconds=59.9), timedelta(minutes=1)) == (
        "2026-11-01T12:00:00Z")
    assert disclosure.batch_time(T0 + timedelta(seconds=25), timedelta(seconds=20)) == (
        "2026-11-01T12:00:20Z")
