"""A log rolled back and grown again with other events, signed by its own key: a fork.

The log had 1,400 entries and the user kept the checkpoint for 1400 (a file, or the one
`verify --url` remembers).  The operator then rolls the database back — leaves, nodes,
checkpoints and events after some size, as restoring an older backup would — and the log
goes on with 30 other events, signing checkpoints for 1390 and 1404 with the real key.
`audit verify` must side with the kept checkpoint, never with the fork's own: the first
bad index is never after the rollback — exact while the original tree nodes are stored,
else the largest kept checkpoint before it, since growing the fork replaced every node a
proof into the checkpoint for 1400 would need.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, insert, select

from porchlight import bootstrap
from porchlight.audit.adapters.http import HttpAuditLogSource
from porchlight.audit.adapters.tables import (
    audit_checkpoints,
    audit_leaves,
    audit_nodes,
    audit_openings,
)
from porchlight.config import Settings
from porchlight.entrypoints.app import create_app
from porchlight.entrypoints.cli import app
from porchlight.kernel.adapters.db import tables
from tests.e2e.test_audit_cli import data_dir, engine, runner, sequenced  # noqa: F401

TRUSTED = 1400


def note_of(engine: Engine, size: int) -> str:  # noqa: F811
    with engine.connect() as connection:
        return connection.execute(select(audit_checkpoints.c.note)
                                  .where(audit_checkpoints.c.size == size)).scalar_one()


def roll_back(engine: Engine, size: int) -> None:  # noqa: F811
    """Everything after ``size`` leaves goes, as if an older backup had been restored."""
    with engine.begin() as connection:
        for table in ("audit_leaves", "audit_nodes", "audit_checkpoints", "audit_events"):
            connection.exec_driver_sql(f"DROP TRIGGER {table}_no_delete")
        connection.execute(delete(audit_leaves).where(audit_leaves.c.leaf_index >= size))
        connection.execute(delete(audit_openings).where(audit_openings.c.leaf_index >= size))
        connection.execute(delete(audit_checkpoints).where(audit_checkpoints.c.size > size))
        connection.execute(delete(tables.audit_events).where(tables.audit_events.c.id > size))
        for level, index in connection.execute(select(audit_nodes.c.level,
                                                      audit_nodes.c.node_index)).all():
            if (index + 1) << level > size:
                connection.execute(delete(audit_nodes).where(
                    audit_nodes.c.level == level, audit_nodes.c.node_index == index))


def grow_fork(engine: Engine, batches: list[int]) -> None:  # noqa: F811
    """Other events than the ones rolled back, each batch sequenced and signed."""
    for count in batches:
        with engine.begin() as connection:
            connection.execute(insert(tables.audit_events), [
                {"kind": "clip.forged", "version": 1, "actor_id": None, "payload": {"n": i},
                 "occurred_at": datetime(2026, 11, 2, tzinfo=UTC)} for i in range(count)])
        result = runner.invoke(app, ["audit", "sequence"])
        assert result.exit_code == 0, result.output


class SharedClientSource(HttpAuditLogSource):
    """Each `verify` closes its source; the test client outlives them."""

    def close(self) -> None:
        return None


@pytest.fixture
def over_http(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:  # noqa: F811
    """`--url http://testserver` reaches this deployment's app through the test client."""
    container = bootstrap.build(Settings())
    with TestClient(create_app(container=container)) as client:
        monkeypatch.setattr(bootstrap, "remote_audit_source",
                            lambda url: SharedClientSource(url, client=client))
        yield
    container.close()


def verify(*options: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", *options])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, result.output


def nodes(engine: Engine) -> list[tuple[int, int, bytes]]:  # noqa: F811
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(audit_nodes))]


def put_back(engine: Engine, original: list[tuple[int, int, bytes]]) -> None:  # noqa: F811
    """The original tree nodes replace the fork's: the tree next to the damage is intact."""
    columns = ("level", "node_index", "hash")
    with engine.begin() as connection:
        for level, index, _ in original:
            connection.execute(delete(audit_nodes).where(
                audit_nodes.c.level == level, audit_nodes.c.node_index == index))
        connection.execute(insert(audit_nodes), [dict(zip(columns, row, strict=True))
                                                 for row in original])


# (original batches, each signed; rollback size; fork batches, each signed; the last
# original checkpoint at or before the rollback)
BOUNDARY = ([1000, 374, 26], 1374, [16, 14], 1374)  # the issue: a checkpoint at 1374
BETWEEN = ([1000, 360, 10, 30], 1370, [20, 14], 1360)  # 1370 left unsigned (below)
SCENARIOS = pytest.mark.parametrize("scenario", [BOUNDARY, BETWEEN],
                                    ids=["at-a-checkpoint", "between-checkpoints"])
Scenario = tuple[list[int], int, list[int], int]


class Forked:
    """Builds the scenario and runs `audit verify` locally, over the API, or remembered."""

    def __init__(self, engine: Engine, data_dir: Path, tmp_path: Path,  # noqa: F811
                 scenario: Scenario) -> None:
        original, self.rollback, fork, self.before = scenario
        for count in original:
            key = sequenced(engine, data_dir, count)
        self.kept = tmp_path / "kept.note"
        self.kept.write_text(note_of(engine, TRUSTED))
        self.kept_before = tmp_path / "kept-before.note"
        self.kept_before.write_text(note_of(engine, self.before))
        self.remote = ["--url", "http://testserver", "--key", key,
                       "--state-dir", str(tmp_path / "state")]
        code, output = verify(*self.remote)  # remembers the checkpoint for 1400
        assert code == 0, output
        self.tree = nodes(engine)
        roll_back(engine, self.rollback)  # a batch boundary: a batch is one transaction
        if self.before != self.rollback:  # no checkpoint at the rollback point
            with engine.begin() as connection:
                connection.execute(delete(audit_checkpoints).where(
                    audit_checkpoints.c.size == self.rollback))
        grow_fork(engine, fork)
        assert verify()[0] == 0  # the fork is consistent in itself

    def verify(self, where: str, *notes: Path) -> tuple[int, str]:
        files = [option for note in notes for option in ("--trusted-checkpoint", str(note))]
        # remembered: the checkpoint for 1400 comes from the state, not from notes[0]
        options = {"local": files, "url": [*self.remote, "--no-state", *files],
                   "url-remembered": [*self.remote, *files[2:]]}[where]
        code, output = verify(*options)
        assert code == 1, output
        return code, output


WHERE = pytest.mark.parametrize("where", ["local", "url", "url-remembered"])


@SCENARIOS
@WHERE
def test_a_fork_grown_by_the_sequencer_is_never_vouched_for_by_its_own_checkpoints(
    engine: Engine, data_dir: Path, over_http: None, tmp_path: Path,  # noqa: F811
    scenario: Scenario, where: str,
) -> None:
    """The fork's checkpoint for 1390 reproduces, but it must not vouch for leaves 1374..1389.

    Growing the fork rewrote every tree node that covers a leaf after the rollback, so no
    prefix of the stored log can be proven into the checkpoint for 1400 any more, and the
    stored checkpoints below it — the original ones for 1000 and 1374 as much as the fork's
    for 1390 — are all signed by the same key, which is seen to have signed two histories:
    none of them can vouch.  Only a checkpoint kept from before the rollback can."""
    forked = Forked(engine, data_dir, tmp_path, scenario)
    _, output = forked.verify(where, forked.kept)
    assert "first bad index 0" in output, output
    assert "[fork] log: the stored leaves reproduce the checkpoint the key signed for size " \
        "1404 but not the trusted one for size 1400" in output
    _, output = forked.verify(where, forked.kept, forked.kept_before)
    assert f"first bad index {forked.before}" in output, output  # exact at a checkpoint
    assert "[fork]" in output


@SCENARIOS
@WHERE
def test_a_fork_is_found_exactly_while_the_tree_around_it_is_intact(
    engine: Engine, data_dir: Path, over_http: None, tmp_path: Path,  # noqa: F811
    scenario: Scenario, where: str,
) -> None:
    """Leaves rewritten from the rollback on and re-signed with the key, the original tree
    nodes left in place: proofs into the kept checkpoint find where the histories part."""
    forked = Forked(engine, data_dir, tmp_path, scenario)
    put_back(engine, forked.tree)
    _, output = forked.verify(where, forked.kept)
    assert f"first bad index {forked.rollback}" in output, output
    assert "[fork]" in output
