"""The sequencer on real databases: leaves, nodes, checkpoints, crashes, cadence, locks."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from porchlight.accounts.services import accounts
from porchlight.accounts.services.commands import RegisterResident
from porchlight.audit.adapters.sql_log import SqlAuditLogStore, SqlLogWriter
from porchlight.audit.adapters.sql_source import SqlAuditLogSource
from porchlight.audit.adapters.tables import (
    audit_checkpoints,
    audit_leaves,
    audit_nodes,
    audit_openings,
)
from porchlight.audit.domain import (
    Checkpoint,
    CheckpointError,
    CheckpointSigner,
    InMemoryTree,
    verify_consistency,
)
from porchlight.audit.services import queries as audit_queries
from porchlight.audit.services.log import Sequencer, leaf_bytes, leaf_matches
from porchlight.audit.services.ports import AuditQueueBusy
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.adapters.db import tables
from porchlight.kernel.adapters.db.orm import start_mappers
from porchlight.kernel.adapters.db.uow import SqlUnitOfWork
from porchlight.kernel.domain.geo import LatLon
from tests.integration.audit.conftest import (
    APPEND_ONLY,
    ORIGIN,
    T0,
    VERIFIER,
    Databases,
    add_events,
    drop_append_only_triggers,
    event_rows,
    make_sequencer,
)

SequencerFor = Callable[..., Sequencer]


def stored_leaves(engine: Engine) -> list[tuple[int, int, bytes, bytes]]:
    with engine.connect() as connection:
        rows = connection.execute(select(audit_leaves).order_by(audit_leaves.c.leaf_index))
        return [tuple(row) for row in rows]


def stored_nodes(engine: Engine) -> dict[tuple[int, int], bytes]:
    with engine.connect() as connection:
        return {(row.level, row.node_index): row.hash
                for row in connection.execute(select(audit_nodes))}


def stored_checkpoints(engine: Engine) -> list[Checkpoint]:
    with engine.connect() as connection:
        notes = connection.execute(select(audit_checkpoints.c.note)
                                   .order_by(audit_checkpoints.c.size)).scalars()
        return [VERIFIER.open(note) for note in notes]


def complete_nodes(tree: InMemoryTree) -> dict[tuple[int, int], bytes]:
    """Every complete node of the tree, the leaf hashes (level 0) included."""
    found, level = {}, 0
    while True:
        try:
            tree.get_node(level, 0)
        except KeyError:
            return found
        index = 0
        while True:
            try:
                found[(level, index)] = tree.get_node(level, index)
            except KeyError:
                break
            index += 1
        level += 1


def test_sequencing_stores_canonical_leaves_every_node_and_a_signed_checkpoint(
    engine: Engine, sequencer_for: SequencerFor
) -> None:
    add_events(engine, 37)
    result = sequencer_for(engine).run_pass()
    assert (result.sequenced, result.size) == (37, 37)

    leaves = stored_leaves(engine)
    assert [(row[0], row[1]) for row in leaves] == [(i, i + 1) for i in range(37)]
    # A resident event's leaf is a commitment to its canonical event, with the batch's
    # time only; the secret kept beside the log opens it.
    entry = json.loads(leaves[1][2])
    assert set(entry) == {"commitment", "time", "v"}
    assert (entry["time"], entry["v"]) == ("2026-11-02T12:00:00Z", 2)
    canonical = {  # the event as a version 1 leaf, without its id (a global counter)
        "actor_id": str(uuid.UUID(int=2)), "kind": "clip.viewed",
        "payload": {"camera_id": str(uuid.UUID(int=10**6 + 1)), "granted": False, "n": 1,
                    "sha256": f"{1:064x}"},
        "time": "2026-11-01T12:00:01.001Z", "version": 1,
    }
    secret = opening_secret(engine, 1)
    preimage = json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
    assert entry["commitment"] == hashlib.sha256(
        b"porchlight.commitment.v1\x00" + secret + preimage).hexdigest()
    assert all(row[3] == hashlib.sha256(b"\x00" + row[2]).digest() for row in leaves)

    tree = InMemoryTree(row[3] for row in leaves)
    assert stored_nodes(engine) == complete_nodes(tree)
    assert stored_checkpoints(engine) == [Checkpoint(ORIGIN, 37, tree.root())]
    assert result.checkpoint == Checkpoint(ORIGIN, 37, tree.root())


def test_leaves_hold_ids_and_codes_but_no_personal_data(
    engine: Engine, clock: FixedClock, sequencer_for: SequencerFor
) -> None:
    start_mappers()
    uow = SqlUnitOfWork(sessionmaker(engine, expire_on_commit=False), clock)
    resident_id = accounts.register_resident(uow, RegisterResident(
        "ana.secret@example.org", "Ana Secretname", LatLon(45.5122, -122.6587)))
    with engine.begin() as connection:  # a row written past the domain's own check
        connection.execute(insert(tables.audit_events), [{
            "kind": "account.changed", "version": 1, "occurred_at": clock.now(),
            "actor_id": None, "payload": {"account_id": str(resident_id),
                                          "email": "ana.secret@example.org",
                                          "Display Name": "Ana Secretname", "score": 0.5}}])
    sequencer_for(engine).run_pass()
    leaves = stored_leaves(engine)
    everything = b"\n".join(row[2] for row in leaves)
    assert b"secret" not in everything.lower() and b"45.51" not in everything
    assert str(resident_id).encode() not in everything  # resident events are commitments
    # What an opening shows (the committed event) holds ids and codes only, too.
    with SqlAuditLogStore(engine).reading() as log:
        opened = [o for o in log.openings() if o.event.kind == "account.changed"]
    shown = leaf_bytes(opened[0].event)
    assert b"secret" not in shown.lower() and str(resident_id).encode() in shown
    assert json.loads(shown)["payload"] == {
        "account_id": str(resident_id), "email": "redacted", "field_2": "redacted",
        "score": "redacted"}


def opening_secret(engine: Engine, index: int, slot: str = "event") -> bytes:
    with engine.connect() as connection:
        return connection.execute(select(audit_openings.c.secret).where(
            audit_openings.c.leaf_index == index, audit_openings.c.slot == slot)).scalar_one()


def openable(engine: Engine) -> list[tuple[int, int | None, bool | None]]:
    """Each leaf's index, event id and whether it still encodes its event."""
    with SqlAuditLogSource.open(engine) as source:
        return [(leaf.index, leaf.event_id, leaf.event and
                 leaf_matches(leaf.data, leaf.event, leaf.secrets))
                for rows in source.leaf_events(source.size()) for leaf in rows]


class CrashingStore(SqlAuditLogStore):
    """Loses power in batch ``crash_at``, after writing its leaves, before committing."""

    def __init__(self, engine: Engine, crash_at: int) -> None:
        super().__init__(engine)
        self.crash_at, self.batches = crash_at, 0

    @contextmanager
    def sequencing(self) -> Iterator[SqlLogWriter]:
        with super().sequencing() as writer:
            self.batches += 1
            if self.batches == self.crash_at:
                real = writer.append

                def append(leaves: list, nodes: list, openings: list) -> None:
                    real(leaves, nodes, openings)
                    raise RuntimeError("power cut")

                writer.append = append  # type: ignore[method-assign]
            yield writer


def test_a_crash_mid_batch_loses_only_that_batch_and_the_rerun_rebuilds_it_exactly(
    databases: Databases, clock: FixedClock, sequencer_for: SequencerFor
) -> None:
    reference = databases.fresh()
    add_events(reference, 50)
    sequencer_for(reference).run_pass()

    engine = databases.fresh()
    add_events(engine, 50)
    crashing = sequencer_for(engine, batch_size=7)
    crashing.store = CrashingStore(engine, crash_at=3)
    with pytest.raises(RuntimeError, match="power cut"):
        crashing.run_pass()
    assert [row[0] for row in stored_leaves(engine)] == list(range(14))

    clock.advance(timedelta(minutes=1))
    result = sequencer_for(engine, batch_size=7).run_pass()
    assert (result.sequenced, result.size) == (36, 50)
    # The same events in the same places, each leaf opening its event (a commitment's
    # secret is new on each run: nothing of the lost batch was ever published).
    assert openable(engine) == [(i, i + 1, True) for i in range(50)]
    assert [row[:2] for row in stored_leaves(engine)] == [
        row[:2] for row in stored_leaves(reference)]
    tree = InMemoryTree(row[3] for row in stored_leaves(engine))
    assert stored_nodes(engine) == complete_nodes(tree)
    assert [c.size for c in stored_checkpoints(engine)] == [7, 21]  # signed when due
    clock.advance(timedelta(minutes=1))
    assert sequencer_for(engine).run_pass().checkpoint == Checkpoint(ORIGIN, 50, tree.root())


def test_checkpoints_come_at_most_every_interval_and_only_when_the_tree_grew(
    engine: Engine, clock: FixedClock, sequencer_for: SequencerFor
) -> None:
    sequencer = sequencer_for(engine, interval=5)
    add_events(engine, 10)
    assert sequencer.run_pass().checkpoint.size == 10  # the first one at once

    add_events(engine, 5, start=10)
    clock.advance(timedelta(seconds=4.999))
    result = sequencer.run_pass()
    assert (result.sequenced, result.checkpoint) == (5, None)

    clock.advance(timedelta(milliseconds=1))
    result = sequencer.run_pass()  # nothing new to sequence, but the growth is now signed
    assert (result.sequenced, result.checkpoint.size) == (0, 15)

    clock.advance(timedelta(hours=1))
    assert sequencer.run_pass().checkpoint is None  # no growth, no checkpoint

    first, second = stored_checkpoints(engine)
    proof = audit_queries.consistency(SqlAuditLogStore(engine), 10, 15)
    verify_consistency(10, 15, proof.proof, first.root, second.root)
    with engine.connect() as connection:
        times = connection.execute(select(audit_checkpoints.c.signed_at)
                                   .order_by(audit_checkpoints.c.size)).scalars().all()
    assert times == [T0 + timedelta(days=1), T0 + timedelta(days=1, seconds=5)]


def test_the_signer_refuses_a_tree_that_does_not_extend_its_last_checkpoint(
    engine: Engine, clock: FixedClock, sequencer_for: SequencerFor
) -> None:
    sequencer = sequencer_for(engine)
    add_events(engine, 8)
    sequencer.run_pass()
    drop_append_only_triggers(engine)
    with engine.begin() as connection:  # forge the subtree over leaves 0..7
        connection.execute(audit_nodes.update().where(audit_nodes.c.level == 3)
                           .values(hash=bytes(32)))
    add_events(engine, 3, start=8)
    clock.advance(timedelta(minutes=1))
    with pytest.raises(CheckpointError, match="not an extension"):
        sequencer.run_pass()
    assert len(stored_leaves(engine)) == 8  # the whole batch was rolled back
    assert [c.size for c in stored_checkpoints(engine)] == [8]


def test_a_signer_with_another_key_refuses_to_continue_the_log(
    engine: Engine, clock: FixedClock, sequencer_for: SequencerFor
) -> None:
    add_events(engine, 4)
    sequencer_for(engine).run_pass()
    add_events(engine, 4, start=4)
    clock.advance(timedelta(minutes=1))
    intruder = sequencer_for(engine, signer=CheckpointSigner.generate(ORIGIN))
    with pytest.raises(CheckpointError, match="not signed by"):
        intruder.run_pass()
    assert len(stored_leaves(engine)) == 4


def test_triggers_reject_update_and_delete_on_every_log_table(
    engine: Engine, sequencer_for: SequencerFor
) -> None:
    add_events(engine, 4)
    sequencer_for(engine).run_pass()
    column = {"audit_leaves": "data", "audit_nodes": "hash", "audit_checkpoints": "note"}
    statements = [f"UPDATE {t} SET {column[t]} = {column[t]}" for t in APPEND_ONLY]
    statements += [f"DELETE FROM {t}" for t in APPEND_ONLY]
    if engine.dialect.name == "postgresql":
        # CASCADE: audit_cosignatures references audit_checkpoints, and without it the
        # foreign key, not the append-only trigger, would be what refuses
        statements += [f"TRUNCATE {t} CASCADE" for t in APPEND_ONLY]
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql(statement)
    assert len(stored_leaves(engine)) == 4


def test_two_sequencers_at_once_write_every_event_exactly_once_in_order(
    engine: Engine, clock: FixedClock
) -> None:
    add_events(engine, 400)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            make_sequencer(engine, clock, batch_size=25).run_pass()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    leaves = stored_leaves(engine)
    assert [(row[0], row[1]) for row in leaves] == [(i, i + 1) for i in range(400)]
    assert stored_nodes(engine) == complete_nodes(InMemoryTree(row[3] for row in leaves))


@pytest.fixture
def postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    made = Databases("postgres", request, tmp_path)
    yield made
    made.close()


def test_an_event_still_being_written_holds_back_the_events_after_it(
    postgres: Databases, clock: FixedClock
) -> None:
    """PostgreSQL hands out ids before commit; SQLite serialises writers, so it cannot happen."""
    engine = postgres.fresh()
    sequencer = make_sequencer(engine, clock)
    with engine.connect() as slow:
        slow.begin()
        slow.execute(insert(tables.audit_events), event_rows(1))  # takes id 1, not committed
        add_events(engine, 1, start=1)  # id 2, committed
        with pytest.raises(AuditQueueBusy):
            sequencer.run_pass()
        assert stored_leaves(engine) == []
        slow.commit()
    assert sequencer.run_pass().sequenced == 2
    assert [row[1] for row in stored_leaves(engine)] == [1, 2]
