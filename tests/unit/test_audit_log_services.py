"""The audit log's service code without a database: leaf format, recomputed tree, verifier.

The verifier runs here against an in-memory source whose tree nodes are read like the
database's (level 0 from the leaf rows, higher levels from the node table), so the meaning
of "first bad index" can be checked exhaustively with Hypothesis.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from porchlight.audit.domain import (
    Checkpoint,
    CheckpointSigner,
    CheckpointVerifier,
    InMemoryTree,
    consistency_plan,
    evaluate_plan,
    leaf_hash,
    root_from_leaf_hashes,
)
from porchlight.audit.services.log import (
    leaf_bytes,
    leaf_time,
    safe_payload,
)
from porchlight.audit.services.ports import LeafRow, QueuedEvent, StoredCheckpoint
from porchlight.audit.services.tree import RecomputedTree
from porchlight.audit.services.verify import verify_log

ORIGIN = "unit.test/log"
SIGNER = CheckpointSigner.generate(ORIGIN)
VERIFIER = CheckpointVerifier(SIGNER.verifier_key, origin=ORIGIN)
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def event(event_id: int, **payload: object) -> QueuedEvent:
    return QueuedEvent(event_id, "clip.viewed", 1, T0, uuid.UUID(int=7), payload)


def test_leaf_time_is_utc_to_the_millisecond_and_truncates() -> None:
    later = datetime(2026, 11, 1, 14, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=2)))
    assert leaf_time(later) == "2026-11-01T12:00:00.999Z"
    assert leaf_time(T0) == "2026-11-01T12:00:00.000Z"


def test_leaf_bytes_are_canonical_json() -> None:
    data = leaf_bytes(event(41, sha256="ab" * 32, camera_id=str(uuid.UUID(int=3)), count=2))
    assert data == (
        b'{"actor_id":"00000000-0000-0000-0000-000000000007","event_id":41,'
        b'"kind":"clip.viewed","payload":{"camera_id":"00000000-0000-0000-0000-000000000003",'
        b'"count":2,"sha256":"' + b"ab" * 32 + b'"},"time":"2026-11-01T12:00:00.000Z",'
        b'"version":1}'
    )
    assert leaf_bytes(event(41, count=2, sha256="ab" * 32, camera_id=str(uuid.UUID(int=3)))
                      ) == data


def test_personal_data_is_redacted_but_ids_codes_digests_and_times_pass() -> None:
    payload = {
        "account_id": str(uuid.UUID(int=1)), "reason": "scope.radius", "digest": "0f" * 32,
        "at": "2026-11-01T12:00:00+00:00", "n": 3, "ok": True, "none": None,
        "email": "ana@example.org", "name": "Ana Smith", "ratio": 0.5, "nested": {"a": 1},
        "Mixed Key": "x",
    }
    assert safe_payload("x.y", payload) == {
        "account_id": str(uuid.UUID(int=1)), "reason": "scope.radius", "digest": "0f" * 32,
        "at": "2026-11-01T12:00:00+00:00", "n": 3, "ok": True, "none": None,
        "email": "redacted", "name": "redacted", "ratio": "redacted", "nested": "redacted",
        "field_11": "redacted",
    }
    assert json.loads(leaf_bytes(QueuedEvent(1, "Bad Kind!", 1, T0, None, {})))["kind"] == (
        "redacted")


@given(st.integers(min_value=1, max_value=300))
@settings(max_examples=40, deadline=None)
def test_recomputed_tree_gives_the_root_of_every_prefix(size: int) -> None:
    hashes = [leaf_hash(b"%d" % i) for i in range(size)]
    tree = RecomputedTree(b"".join(hashes))
    reference = InMemoryTree(hashes)
    for prefix in {1, size // 2 or 1, size - 1 or 1, size}:
        assert tree.root(prefix) == reference.root(prefix)
        assert tree.root(prefix) == root_from_leaf_hashes(hashes[:prefix])


class MemoryLog:
    """Leaf rows, node table and checkpoint rows in memory, used the way the database is."""

    def __init__(self, size: int, checkpoint_sizes: Sequence[int]) -> None:
        self.rows: list[LeafRow] = []
        for index in range(size):
            data = leaf_bytes(event(index + 1, n=index))
            self.rows.append((index, index + 1, data, leaf_hash(data)))
        self.tree = InMemoryTree(row[3] for row in self.rows)
        self.nodes = {(level, index): self.tree.get_node(level, index)
                      for level in range(size.bit_length())
                      for index in range(size >> level)}
        self.stored_checkpoints = [self.sign(s) for s in sorted(set(checkpoint_sizes))]

    def sign(self, size: int) -> StoredCheckpoint:
        checkpoint = Checkpoint(ORIGIN, size, self.tree.root(size))
        return StoredCheckpoint(size, checkpoint.root, SIGNER.sign(checkpoint),
                                SIGNER.verifier_key, T0)

    def size(self) -> int:
        return max((row[0] for row in self.rows), default=-1) + 1

    def checkpoints(self) -> Iterator[StoredCheckpoint]:
        return iter(self.stored_checkpoints)

    def leaf_chunks(self, start: int, end: int) -> Iterator[Sequence[LeafRow]]:
        rows = sorted(row for row in self.rows if start <= row[0] < end)
        for offset in range(0, len(rows), 50):
            yield rows[offset : offset + 50]

    def leaf_data(self, start: int, end: int) -> Iterator[Sequence[tuple[bytes, bytes]]]:
        for rows in self.leaf_chunks(start, end):
            yield [(row[2], row[3]) for row in rows]

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        plan = consistency_plan(size1, size2)
        return evaluate_plan(plan, lambda level, index: self.nodes[(level, index)])


def _flip(log: MemoryLog, at: int, *, rewrite_hashes: bool = False) -> None:
    """Change one byte of leaf ``at``; optionally fix its stored hash and tree node too."""
    index, event_id, data, digest = log.rows[at]
    changed = data[:-2] + bytes([data[-2] ^ 1]) + data[-1:]
    if rewrite_hashes:
        digest = log.nodes[(0, at)] = leaf_hash(changed)
    log.rows[at] = (index, event_id, changed, digest)


def _renumber(rows: Sequence[LeafRow], start: int) -> list[LeafRow]:
    return [(start + i, e, d, h) for i, (_, e, d, h) in enumerate(rows)]


def tamper(log: MemoryLog, kind: str, at: int) -> None:
    rows = log.rows
    if kind == "flip":
        _flip(log, at)
    elif kind == "delete":
        log.rows = rows[:at] + _renumber(rows[at + 1 :], at)
    elif kind == "insert":
        data = leaf_bytes(event(10**6))
        log.rows = [*rows[:at], (at, 10**6, data, leaf_hash(data)), *_renumber(rows[at:], at + 1)]
    elif kind == "swap":
        log.rows = _renumber([*rows[:at], rows[at + 1], rows[at], *rows[at + 2 :]], 0)
    else:
        log.rows = rows[:at]


@st.composite
def tampered_logs(draw: st.DrawFn) -> tuple[MemoryLog, str, int]:
    size = draw(st.integers(min_value=2, max_value=200))
    sizes = draw(st.lists(st.integers(min_value=1, max_value=size), min_size=1, max_size=6))
    kind = draw(st.sampled_from(["flip", "delete", "insert", "swap", "truncate"]))
    covered = max(sizes)
    if kind == "swap" and covered < 2:
        kind = "flip"
    at = draw(st.integers(min_value=0, max_value=covered - (2 if kind == "swap" else 1)))
    return MemoryLog(size, sizes), kind, at


@given(tampered_logs())
@settings(max_examples=150, deadline=None)
def test_the_first_bad_index_is_exact_while_the_stored_nodes_are_intact(
    case: tuple[MemoryLog, str, int],
) -> None:
    log, kind, at = case
    assert verify_log(log, VERIFIER).ok
    tamper(log, kind, at)
    report = verify_log(log, VERIFIER)
    assert not report.ok
    assert report.first_bad_index == at, (kind, report.problems)


@given(st.integers(min_value=2, max_value=200), st.data())
@settings(max_examples=100, deadline=None)
def test_with_its_tree_node_rewritten_too_the_index_is_never_after_the_change(
    size: int, data: st.DataObject
) -> None:
    at = data.draw(st.integers(min_value=0, max_value=size - 1))
    sizes = data.draw(st.lists(st.integers(min_value=at + 1, max_value=size), min_size=1))
    log = MemoryLog(size, sizes)
    _flip(log, at, rewrite_hashes=True)
    report = verify_log(log, VERIFIER)
    assert report.first_bad_index is not None
    assert report.first_bad_index <= at


def test_a_leaf_and_its_tree_node_changed_together_can_cost_its_left_neighbour() -> None:
    """Leaf 37 is odd: the only hash that could prove leaf 36 beside it is its own."""
    log = MemoryLog(64, [64])
    _flip(log, 37, rewrite_hashes=True)
    assert verify_log(log, VERIFIER).first_bad_index == 36
    log = MemoryLog(64, [64])
    _flip(log, 36, rewrite_hashes=True)
    assert verify_log(log, VERIFIER).first_bad_index == 36


def test_checkpoint_rows_blame_the_leaves_they_first_covered() -> None:
    log = MemoryLog(50, [10, 20, 30])
    forged = CheckpointSigner.generate(ORIGIN).sign(Checkpoint(ORIGIN, 30, log.tree.root(30)))
    log.stored_checkpoints[2] = StoredCheckpoint(30, log.tree.root(30), forged, "k", T0)
    report = verify_log(log, VERIFIER)
    assert (report.first_bad_index, [p.code for p in report.problems]) == (
        20, ["checkpoint_signature"])
    assert (report.checkpoints, report.signed_size) == (2, 20)


def test_a_log_with_leaves_and_no_checkpoint_proves_nothing() -> None:
    log = MemoryLog(5, [5])
    log.stored_checkpoints = []
    report = verify_log(log, VERIFIER)
    assert (report.first_bad_index, [p.code for p in report.problems]) == (0, ["unsigned"])


def test_progress_is_reported_for_every_phase() -> None:
    log = MemoryLog(120, [40, 80, 120])
    _flip(log, 100)
    seen: set[str] = set()
    verify_log(log, VERIFIER, progress=lambda phase, done, total: seen.add(phase))
    assert seen == {"checkpoints", "leaves", "locating"}


@pytest.mark.parametrize("note", ["not a note", SIGNER.sign(Checkpoint("other/log", 1, bytes(32)))])
def test_a_trusted_checkpoint_must_itself_verify(note: str) -> None:
    with pytest.raises(ValueError):
        verify_log(MemoryLog(3, [3]), VERIFIER, trusted=[note])


def fork(log: MemoryLog, at: int, size: int, sizes: Sequence[int], *, keep_tree: bool) -> None:
    """Roll ``log`` back to ``at`` leaves and grow it to ``size`` with other events, signing
    ``sizes`` with the same key; with ``keep_tree`` the original tree nodes stay stored."""
    log.rows = log.rows[:at]
    for index in range(at, size):
        data = leaf_bytes(event(10**6 + index, forked=True))
        log.rows.append((index, 10**6 + index, data, leaf_hash(data)))
    log.tree = InMemoryTree(row[3] for row in log.rows)
    if not keep_tree:
        log.nodes = {(level, index): log.tree.get_node(level, index)
                     for level in range(size.bit_length()) for index in range(size >> level)}
    log.stored_checkpoints = [c for c in log.stored_checkpoints if c.size <= at] + [
        log.sign(s) for s in sorted(set(sizes))]


@given(st.integers(min_value=2, max_value=120), st.data())
@settings(max_examples=150, deadline=None)
def test_a_fork_is_never_vouched_for_against_a_trusted_checkpoint(
    size: int, data: st.DataObject
) -> None:
    """The key signs a fork that grew past the trusted checkpoint (or to its size): the
    index is never after the fork, and exact while the original tree nodes are stored."""
    trusted_size = data.draw(st.integers(min_value=1, max_value=size))
    at = data.draw(st.integers(min_value=0, max_value=trusted_size - 1))
    grown = data.draw(st.integers(min_value=trusted_size, max_value=size + 20))
    sizes = data.draw(st.lists(st.integers(min_value=at + 1, max_value=grown), max_size=3))
    sizes.append(data.draw(st.integers(min_value=trusted_size, max_value=grown)))
    keep_tree = data.draw(st.booleans())
    log = MemoryLog(size, data.draw(st.lists(st.integers(min_value=1, max_value=size))))
    trusted = log.sign(trusted_size).note
    fork(log, at, grown, sizes, keep_tree=keep_tree)
    report = verify_log(log, VERIFIER, trusted=[trusted])
    assert "fork" in [p.code for p in report.problems]
    assert report.first_bad_index is not None
    assert report.first_bad_index == at if keep_tree else report.first_bad_index <= at


def test_a_fork_signed_at_the_trusted_size_yields_to_the_trusted_checkpoint() -> None:
    for keep_tree, first_bad_index in ((True, 23), (False, 20)):
        log = MemoryLog(40, [10, 20, 30, 40])
        kept = [log.sign(30).note, log.sign(20).note]
        fork(log, 23, 30, [26, 30], keep_tree=keep_tree)
        report = verify_log(log, VERIFIER, trusted=kept)
        # never 26, where the fork signed first; without the original tree, the trusted
        # checkpoint for 20 is the last thing that vouches
        assert report.first_bad_index == first_bad_index, report.problems
        [fork_problem] = [p for p in report.problems if p.code == "fork"]
        assert "two checkpoints signed by the key for size 30" in fork_problem.message
