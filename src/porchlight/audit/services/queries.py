"""Public, read-only questions about the audit log: checkpoints, entries and proofs.

Proofs are built from the stored complete nodes — every node a proof needs is fetched in
one batch — and are checked here before they are handed out, so a damaged node table shows
up as an error instead of as a proof that fails on someone else's machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from porchlight.audit.domain import (
    Checkpoint,
    CheckpointError,
    NodeGetter,
    NodeId,
    ProofError,
    ProofPlan,
    consistency_plan,
    evaluate_plan,
    inclusion_plan,
    range_nodes,
    root_at,
    verify_consistency,
    verify_inclusion,
)
from porchlight.audit.services.ports import (
    AuditLogReader,
    AuditLogStore,
    LeafRow,
    StoredCheckpoint,
)
from porchlight.kernel.domain.errors import NotFound, ValidationFailed

MAX_ENTRIES = 1000
MAX_CHECKPOINTS = 1000


class AuditLogDamaged(RuntimeError):
    """Stored nodes are missing or do not add up: the node table needs attention."""


@dataclass(frozen=True)
class Entries:
    tree_size: int
    entries: list[LeafRow]


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    leaf_hash: bytes
    root: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    proof: list[bytes]


def log_state(store: AuditLogStore) -> tuple[StoredCheckpoint | None, int]:
    """The newest signed checkpoint (None before the first) and the number of leaves."""
    with store.reading() as log:
        latest = log.latest_checkpoint()
        return (with_cosignatures(log, [latest])[0] if latest else None), log.size()


def with_cosignatures(log: AuditLogReader, found: list[StoredCheckpoint]
                      ) -> list[StoredCheckpoint]:
    """The checkpoints with their witnesses' cosignature lines appended to each note."""
    lines = log.cosignatures([c.size for c in found])
    return [replace(c, note=c.note + "".join(lines.get(c.size, ()))) for c in found]


def parse_note(note: str) -> Checkpoint | None:
    """The checkpoint a stored note claims, unverified (None when it is not one)."""
    body, blank, _signatures = note.partition("\n\n")
    try:
        return Checkpoint.parse(body + "\n") if blank else None
    except CheckpointError:
        return None


def parse_leaf(data: bytes) -> dict[str, Any] | None:
    """A leaf's JSON for display; None when the bytes are not a JSON object."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def list_checkpoints(store: AuditLogStore, after: int, limit: int) -> list[StoredCheckpoint]:
    """Signed checkpoints with a size above ``after``, smallest first, at most ``limit``."""
    _require(after >= 0, "after must not be negative")
    _require(1 <= limit <= MAX_CHECKPOINTS, f"limit must be between 1 and {MAX_CHECKPOINTS}")
    with store.reading() as log:
        return with_cosignatures(log, log.checkpoints(after, limit))


def entries(store: AuditLogStore, start: int, end: int | None) -> Entries:
    """Leaves ``start <= index < end`` (without event ids); the page is cut at the tree
    size and MAX_ENTRIES.

    An ``end`` at or before ``start`` names no leaf: the page is empty, as a slice is.
    """
    _require(start >= 0, "start must not be negative")
    with store.reading() as log:
        size = log.size()
        if start > size:
            raise NotFound(f"start {start} is beyond the log, which has {size} entries")
        stop = min(size, start + MAX_ENTRIES, end if end is not None else size)
        rows = log.leaves(start, stop) if stop > start else []
    # Event ids stay inside: in a shuffled, padded batch they would count and order it.
    return Entries(size, [(index, None, data, digest) for index, _, data, digest in rows])


def inclusion_proofs(log: AuditLogReader, indexes: list[int], size: int
                     ) -> dict[int, list[bytes]]:
    """Inclusion proofs of many leaves into the tree of ``size``, with one fetch of the
    nodes they need (openings and custody exports carry one per entry)."""
    plans = {index: inclusion_plan(index, size) for index in set(indexes)}
    wanted = {node for plan in plans.values() for group in plan for node in group}
    nodes = log.nodes(wanted) if wanted else {}
    if wanted - nodes.keys():
        raise AuditLogDamaged("stored tree nodes are missing")
    return {index: evaluate_plan(plan, _getter(nodes)) for index, plan in plans.items()}


def inclusion(store: AuditLogStore, index: int, size: int | None) -> InclusionProof:
    """Proof that leaf ``index`` is in the tree of ``size`` leaves (default: latest checkpoint)."""
    _require(index >= 0, "index must not be negative")
    with store.reading() as log:
        size = _tree_size(log, size)
        if index >= size:
            raise NotFound(f"index {index} is beyond the tree of {size} entries")
        plan = inclusion_plan(index, size)
        nodes = _fetch(log, [[(0, index)], *plan, range_nodes(0, size)])
    leaf = nodes[(0, index)]
    root = root_at(size, _getter(nodes))
    proof = evaluate_plan(plan, _getter(nodes))
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except ProofError as exc:
        raise AuditLogDamaged(f"stored nodes give a bad inclusion proof: {exc}") from exc
    return InclusionProof(index, size, leaf, root, proof)


def consistency(store: AuditLogStore, first: int, second: int | None) -> ConsistencyProof:
    """Proof that the tree of ``first`` leaves is a prefix of the tree of ``second``."""
    _require(first > 0, "first must be at least 1 (every log extends the empty one)")
    with store.reading() as log:
        second = _tree_size(log, second)
        if first > second:
            raise NotFound(f"first {first} is beyond the tree of {second} entries")
        plan = consistency_plan(first, second)
        nodes = _fetch(log, [*plan, range_nodes(0, first), range_nodes(0, second)])
    get = _getter(nodes)
    roots = root_at(first, get), root_at(second, get)
    proof = evaluate_plan(plan, get)
    try:
        verify_consistency(first, second, proof, *roots)
    except ProofError as exc:
        raise AuditLogDamaged(f"stored nodes give a bad consistency proof: {exc}") from exc
    return ConsistencyProof(first, second, roots[0], roots[1], proof)


def _tree_size(log: AuditLogReader, size: int | None) -> int:
    """An explicit size must exist; the default is the latest signed checkpoint's size.

    A size the log has signed counts as existing even if leaves went missing since: its
    stored nodes may still answer, and a verifier is better served by a proof than a 404.
    """
    checkpoint = log.latest_checkpoint()
    if size is None:
        if checkpoint is None:
            raise NotFound("the audit log has no signed checkpoint yet; give a size")
        return checkpoint.size
    _require(size > 0, "size must be at least 1")
    stored = log.size()
    if size > max(stored, checkpoint.size if checkpoint else 0):
        raise NotFound(f"size {size} is beyond the log, which has {stored} entries")
    return size


def _fetch(log: AuditLogReader, plan: ProofPlan) -> dict[NodeId, bytes]:
    wanted = {node for group in plan for node in group}
    found = log.nodes(wanted)
    missing = wanted - found.keys()
    if missing:
        raise AuditLogDamaged(f"{len(missing)} stored tree nodes are missing, e.g. {min(missing)}")
    return found


def _getter(nodes: dict[NodeId, bytes]) -> NodeGetter:
    return lambda level, index: nodes[(level, index)]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValidationFailed(message)
