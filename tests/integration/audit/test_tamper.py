"""A rogue DBA against a stored log of 10,000 events: `audit verify` names the first bad index.

The log is built once per backend (a checkpoint every 1,000 leaves); every test tampers
with a private copy, after dropping the append-only triggers as such a DBA would, then runs
`porchlight audit verify` through the CLI runner and reads its verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, insert, select, update
from typer.testing import CliRunner

from porchlight import bootstrap
from porchlight.audit.adapters.http import HttpAuditLogSource
from porchlight.audit.adapters.tables import (
    audit_checkpoints,
    audit_leaves,
    audit_nodes,
)
from porchlight.audit.domain import Checkpoint, CheckpointSigner, leaf_hash
from porchlight.audit.services.log import leaf_bytes
from porchlight.audit.services.ports import QueuedEvent
from porchlight.config import Settings
from porchlight.entrypoints.app import create_app
from porchlight.entrypoints.cli import app
from porchlight.kernel.adapters.clock import FixedClock
from porchlight.kernel.adapters.db import tables
from tests.integration.audit.conftest import (
    ORIGIN,
    SIGNER,
    T0,
    Databases,
    add_events,
    drop_append_only_triggers,
    make_sequencer,
)

SIZE = 10_000
Leaf = tuple[int, int, bytes, bytes]
runner = CliRunner()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stored_log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Engine]:
    databases = Databases(request.param, request, tmp_path_factory.mktemp("log"))
    engine = databases.fresh()
    add_events(engine, SIZE)
    clock = FixedClock(T0 + timedelta(days=1))
    sequencer = make_sequencer(engine, clock, batch_size=1000)
    while sequencer.run_batch().sequenced:
        clock.advance(timedelta(seconds=5))
    yield engine
    databases.close()


@pytest.fixture
def log(stored_log: Engine, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    backend = "sqlite" if stored_log.dialect.name == "sqlite" else "postgres"
    databases = Databases(backend, request, tmp_path)
    engine = databases.fresh(template=stored_log)
    drop_append_only_triggers(engine)
    yield engine
    databases.close()


class Verdict:
    """What `porchlight audit verify` printed and returned."""

    PROBLEM = re.compile(r"^  - \[(\w+)\] (?:leaf (\d+)|log): ", re.MULTILINE)
    FIRST = re.compile(r"FAILED: first bad index (\d+)")
    SUMMARY = re.compile(r"^(\d+) leaves, (\d+) signed checkpoints \(the latest covers (\d+)",
                         re.MULTILINE)

    def __init__(self, exit_code: int, output: str) -> None:
        self.exit_code, self.output = exit_code, output
        first = self.FIRST.search(output)
        self.first_bad_index = int(first.group(1)) if first else None
        self.codes = [match.group(1) for match in self.PROBLEM.finditer(output)]
        summary = self.SUMMARY.search(output)
        self.summary = tuple(map(int, summary.groups())) if summary else None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and "OK" in self.output


Verify = Callable[..., Verdict]


@pytest.fixture
def verify(log: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Verify:
    """`porchlight audit verify` against the tampered copy, trusting the log's key."""
    monkeypatch.setenv("PORCHLIGHT_DATABASE__URL", log.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PORCHLIGHT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PORCHLIGHT_ENV", "test")

    def run(*options: str, trusted: str | None = None) -> Verdict:
        if trusted is not None:
            (tmp_path / "trusted.note").write_text(trusted)
            options = (*options, "--trusted-checkpoint", str(tmp_path / "trusted.note"))
        result = runner.invoke(app, ["audit", "verify", "--key", SIGNER.verifier_key,
                                     "--origin", ORIGIN, *options])
        assert result.exit_code in (0, 1), result.output
        return Verdict(result.exit_code, result.output)

    return run


def leaves(engine: Engine) -> list[Leaf]:
    with engine.connect() as connection:
        rows = connection.execute(select(audit_leaves).order_by(audit_leaves.c.leaf_index))
        return [tuple(row) for row in rows]


def rewrite_leaves(engine: Engine, change: Callable[[list[Leaf]], list[Leaf]]) -> None:
    """Replace the leaf table with ``change(leaves)``, renumbering nothing by itself."""
    rows = change(leaves(engine))
    names = ("leaf_index", "event_id", "data", "leaf_hash")
    with engine.begin() as connection:
        connection.execute(delete(audit_leaves))
        connection.execute(insert(audit_leaves), [dict(zip(names, row, strict=True))
                                                  for row in rows])


def renumber(rows: list[Leaf], start: int = 0) -> list[Leaf]:
    return [(start + i, event_id, data, digest) for i, (_, event_id, data, digest)
            in enumerate(rows)]


def flip_a_byte(engine: Engine, index: int) -> None:
    def change(rows: list[Leaf]) -> list[Leaf]:
        data = bytearray(rows[index][2])
        data[len(data) // 2] ^= 0x01
        rows[index] = (index, rows[index][1], bytes(data), rows[index][3])
        return rows
    rewrite_leaves(engine, change)


def fabricated_event(engine: Engine) -> QueuedEvent:
    with engine.begin() as connection:
        event_id = connection.execute(insert(tables.audit_events).values(
            kind="clip.deleted", version=1, occurred_at=T0, actor_id=None, payload={}
        ).returning(tables.audit_events.c.id)).scalar_one()
    return QueuedEvent(event_id, "clip.deleted", 1, T0, None, {})


def truncate_nodes(engine: Engine, size: int) -> None:
    """Also drop every stored node that covers a leaf at or after ``size``."""
    with engine.begin() as connection:
        for level, index in connection.execute(select(audit_nodes.c.level,
                                                      audit_nodes.c.node_index)).all():
            if (index + 1) << level > size:
                connection.execute(delete(audit_nodes).where(
                    audit_nodes.c.level == level, audit_nodes.c.node_index == index))


def note_of(engine: Engine, size: int) -> str:
    with engine.connect() as connection:
        return connection.execute(select(audit_checkpoints.c.note)
                                  .where(audit_checkpoints.c.size == size)).scalar_one()


def set_note(engine: Engine, size: int, note: str) -> None:
    with engine.begin() as connection:
        connection.execute(update(audit_checkpoints).where(audit_checkpoints.c.size == size)
                           .values(note=note))


def test_the_untouched_log_verifies(log: Engine, verify: Verify) -> None:
    report = verify()
    assert report.ok, report.output
    assert report.summary == (SIZE, 10, SIZE)


def test_one_flipped_byte_in_a_leaf(log: Engine, verify: Verify) -> None:
    flip_a_byte(log, 4321)
    report = verify()
    assert report.first_bad_index == 4321
    assert set(report.codes) == {"leaf_hash", "event_mismatch", "unproven"}


def test_a_deleted_leaf_with_the_rest_renumbered(log: Engine, verify: Verify) -> None:
    rewrite_leaves(log, lambda rows: rows[:5000] + renumber(rows[5001:], 5000))
    report = verify()
    assert report.first_bad_index == 5000
    assert {"event_skipped", "unproven"} <= set(report.codes)


def test_a_deleted_leaf_leaving_a_gap(log: Engine, verify: Verify) -> None:
    rewrite_leaves(log, lambda rows: rows[:5000] + rows[5001:])
    report = verify()
    assert report.first_bad_index == 5000
    assert "leaf_missing" in set(report.codes)


def test_an_inserted_leaf(log: Engine, verify: Verify) -> None:
    event = fabricated_event(log)
    data = leaf_bytes(event)
    forged = (2500, event.id, data, leaf_hash(data))
    rewrite_leaves(log, lambda rows: [*rows[:2500], forged, *renumber(rows[2500:], 2501)])
    report = verify()
    assert report.first_bad_index == 2500
    assert {"leaf_order", "unproven"} <= set(report.codes)


def test_two_leaves_swapped(log: Engine, verify: Verify) -> None:
    rewrite_leaves(log, lambda rows: renumber(
        [*rows[:7000], rows[7001], rows[7000], *rows[7002:]]))
    report = verify()
    assert report.first_bad_index == 7000
    # Inside a batch the order is free (batches are shuffled): the tree catches the swap,
    # and each leaf now sits where its secret does not open it.
    assert {"event_mismatch", "unproven"} <= set(report.codes)


def test_a_truncated_log(log: Engine, verify: Verify) -> None:
    rewrite_leaves(log, lambda rows: rows[:9500])
    report = verify()
    assert report.first_bad_index == 9500
    assert report.codes == ["truncated"]


def test_a_truncated_log_whose_nodes_were_removed_too(log: Engine, verify: Verify) -> None:
    """Nothing left can prove leaves 9000..9499 any more: the last proof is checkpoint 9000."""
    rewrite_leaves(log, lambda rows: rows[:9500])
    truncate_nodes(log, 9500)
    report = verify()
    assert report.first_bad_index == 9000
    assert "stops at 9500" in report.output


def test_two_checkpoint_notes_swapped(log: Engine, verify: Verify) -> None:
    three, six = note_of(log, 3000), note_of(log, 6000)
    set_note(log, 3000, six)
    set_note(log, 6000, three)
    report = verify()
    assert report.first_bad_index == 2000  # the first leaf the row for 3000 vouched for
    assert report.codes == ["checkpoint_row"]


def test_a_checkpoint_replaced_by_one_signed_with_another_key(log: Engine, verify: Verify) -> None:
    with log.connect() as connection:
        root = connection.execute(select(audit_checkpoints.c.root)
                                  .where(audit_checkpoints.c.size == SIZE)).scalar_one()
    forged = CheckpointSigner.generate(ORIGIN).sign(Checkpoint(ORIGIN, SIZE, root))
    set_note(log, SIZE, forged)
    report = verify()
    assert report.first_bad_index == 9000
    assert report.codes == ["checkpoint_signature"]


def test_an_event_changed_after_it_was_sequenced(log: Engine, verify: Verify) -> None:
    with log.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER audit_events_no_update" if
                                   log.dialect.name == "sqlite" else
                                   "DROP TRIGGER audit_events_append_only ON audit_events")
        connection.execute(update(tables.audit_events).where(tables.audit_events.c.id == 1235)
                           .values(kind="clip.never.viewed"))
    report = verify()
    assert report.first_bad_index == 1234
    assert report.codes == ["event_mismatch"]


def test_a_rollback_is_caught_only_against_a_checkpoint_kept_elsewhere(
    log: Engine, verify: Verify
) -> None:
    kept = note_of(log, SIZE)
    rewrite_leaves(log, lambda rows: rows[:9500])
    with log.begin() as connection:
        connection.execute(delete(audit_checkpoints).where(audit_checkpoints.c.size > 9000))
    assert verify().ok  # a consistent shorter log: nothing inside it can tell
    report = verify(trusted=kept)
    assert report.first_bad_index == 9500
    assert report.codes == ["truncated"]


@pytest.mark.parametrize("tamper", ["flip", "insert", "truncate"])
def test_remote_verification_over_the_api_names_the_same_index(
    log: Engine, verify: Verify, tamper: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if tamper == "flip":
        flip_a_byte(log, 4321)
    elif tamper == "insert":
        event = fabricated_event(log)
        data = leaf_bytes(event)
        rewrite_leaves(log, lambda rows: [*rows[:2500], (2500, event.id, data, leaf_hash(data)),
                                          *renumber(rows[2500:], 2501)])
    else:
        rewrite_leaves(log, lambda rows: rows[:9500])
    local = verify()
    container = bootstrap.build(Settings(env="test", data_dir=tmp_path / "app"), engine=log)
    with TestClient(create_app(container=container)) as client:
        monkeypatch.setattr(bootstrap, "remote_audit_source",
                            lambda url: HttpAuditLogSource(url, client=client))
        remote = verify("--url", "http://testserver")
    assert remote.exit_code == 1
    assert remote.first_bad_index == local.first_bad_index == {
        "flip": 4321, "insert": 2500, "truncate": 9500}[tamper]
