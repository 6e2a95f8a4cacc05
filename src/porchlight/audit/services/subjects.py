"""The audit history of one subject (an evidence item): its events, their leaves and
inclusion proofs into the latest signed checkpoint, read in one snapshot of the log.

Events not yet sequenced have no leaf; leaves beyond the checkpoint have no proof yet.
Both are returned as they are: the caller lists them as pending.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from porchlight.audit.services.ports import AuditLogStore, StoredCheckpoint
from porchlight.audit.services.ports import SubjectEvent as Found
from porchlight.audit.services.queries import inclusion_proofs, with_cosignatures


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
    """One subject's events (an evidence item's custody chain), with the secrets that open
    the values its public leaves commit to: the caller is the item's holder."""
    return _history(store, field, [value], kinds, openings=True)


def subjects_history(store: AuditLogStore, field: str, values: Collection[str],
                     kinds: Collection[str]) -> SubjectHistory:
    """The events of many subjects at once (a resident's evidence items), with proofs into
    the latest signed checkpoint: one snapshot, one query for the events, one fetch of the
    tree nodes every proof needs. No openings: the caller is not the items' holder."""
    return _history(store, field, values, kinds, openings=False)


def _history(store: AuditLogStore, field: str, values: Collection[str],
             kinds: Collection[str], *, openings: bool) -> SubjectHistory:
    with store.reading() as log:
        latest = log.latest_checkpoint()
        checkpoint = with_cosignatures(log, [latest])[0] if latest else None
        size = checkpoint.size if checkpoint else 0
        found = log.subjects_events(field, values, kinds) if values else []
        indexes = [f.index for f in found if f.index is not None]
        proofs = inclusion_proofs(log, [index for index in indexes if index < size], size)
        kept = log.secrets_at(indexes) if openings else {}
        tree_size = log.size()
    return SubjectHistory(checkpoint, tree_size, [ProvenEvent(
        f, proofs.get(f.index) if f.index is not None else None,
        {slot.removeprefix("payload."): secret
         for slot, secret in kept.get(f.index, {}).items() if slot.startswith("payload.")}
        if f.index is not None else {}) for f in found])
