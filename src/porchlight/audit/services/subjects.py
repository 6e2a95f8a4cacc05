"""The audit history of one subject (an evidence item): its events, their leaves and
inclusion proofs into the latest signed checkpoint, read in one snapshot of the log.

Events not yet sequenced have no leaf; leaves beyond the checkpoint have no proof yet.
Both are returned as they are: the caller lists them as pending.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from porchlight.audit.domain import evaluate_plan, inclusion_plan
from porchlight.audit.services.ports import AuditLogReader, AuditLogStore, StoredCheckpoint
from porchlight.audit.services.ports import SubjectEvent as Found
from porchlight.audit.services.queries import AuditLogDamaged, with_cosignatures


@dataclass(frozen=True)
class ProvenEvent:
    found: Found
    proof: list[bytes] | None  # None: not in the checkpoint (yet)
    # what opens the values its public leaf commits to (an evidence item's digests), by
    # payload field: the holder of the item may show them
    openings: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class SubjectHistory:
    checkpoint: StoredCheckpoint | None  # its note with the witnesses' cosignatures
    tree_size: int  # leaves in the log when read: anything pending lands at or after it
    events: list[ProvenEvent]


def subject_history(store: AuditLogStore, field: str, value: str,
                    kinds: Collection[str]) -> SubjectHistory:
    with store.reading() as log:
        latest = log.latest_checkpoint()
        checkpoint = with_cosignatures(log, [latest])[0] if latest else None
        size = checkpoint.size if checkpoint else 0
        found = log.subject_events(field, value, kinds)
        proofs = _proofs(log, [f.index for f in found if f.index is not None
                               and f.index < size], size)
        kept = log.secrets_at([f.index for f in found if f.index is not None])
        tree_size = log.size()
    return SubjectHistory(checkpoint, tree_size, [ProvenEvent(
        f, proofs.get(f.index) if f.index is not None else None,
        {slot.removeprefix("payload."): secret
         for slot, secret in kept.get(f.index, {}).items() if slot.startswith("payload.")}
        if f.index is not None else {}) for f in found])


def subjects_history(store: AuditLogStore, field: str, values: Collection[str],
                     kinds: Collection[str]) -> SubjectHistory:
    """The events of many subjects at once (a resident's evidence items), with proofs into
    the latest signed checkpoint: one snapshot, one query for the events, one fetch of the
    tree nodes every proof needs. No openings: the caller is not the items' holder."""
    with store.reading() as log:
        latest = log.latest_checkpoint()
        checkpoint = with_cosignatures(log, [latest])[0] if latest else None
        size = checkpoint.size if checkpoint else 0
        found = log.subjects_events(field, values, kinds) if values else []
        proofs = _proofs(log, [f.index for f in found if f.index is not None
                               and f.index < size], size)
        tree_size = log.size()
    return SubjectHistory(checkpoint, tree_size, [ProvenEvent(
        f, proofs.get(f.index) if f.index is not None else None) for f in found])


def _proofs(log: AuditLogReader, indexes: list[int], size: int) -> dict[int, list[bytes]]:
    """Inclusion proofs of many leaves with one fetch of the nodes they need."""
    plans = {index: inclusion_plan(index, size) for index in set(indexes)}
    wanted = {node for plan in plans.values() for group in plan for node in group}
    nodes = log.nodes(wanted) if wanted else {}
    if wanted - nodes.keys():
        raise AuditLogDamaged("stored tree nodes are missing")
    return {index: evaluate_plan(plan, lambda level, i: nodes[(level, i)])
            for index, plan in plans.items()}
