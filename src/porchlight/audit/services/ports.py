"""Ports of the audit log: what the sequencer, the public reads and the verifier need.

Kept apart from ``ports.py`` because they serve one feature with its own storage.  Leaves
travel as plain tuples (``LeafRow``), not dataclasses: the verifier streams millions of
them and object construction would dominate its running time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol
from uuid import UUID

from porchlight.audit.domain import Node, NodeId

LeafRow = tuple[int, int | None, bytes, bytes]
"""``(index, event id, leaf bytes, leaf hash)`` of one stored leaf."""
LeafData = tuple[bytes, bytes]
"""``(leaf bytes, stored leaf hash)``: all the verifier's fast pass reads of a leaf."""
OpeningRow = tuple[int, str, int, UUID | None, UUID | None, bytes]
"""``(leaf index, slot, event id, account, agency, secret)``: what opens one commitment.

``slot`` is ``event`` for a resident event's commitment, ``actor`` or ``payload.<field>``
for an account committed inside a public leaf.  ``account`` may open it (None: only
oversight can), as may the ``agency`` the account is staff of."""


class AuditQueueBusy(Exception):
    """Events may still be in flight below the next id; sequencing must wait (PostgreSQL)."""


class AuditKeyError(RuntimeError):
    """The signing key file is missing, unreadable, malformed or too widely readable."""


class AuditSourceError(LookupError):
    """A log source (another deployment's API, say) could not answer a question."""


class QueuedEvent(NamedTuple):
    """One row of ``audit_events``, as the sequencer turns it into a leaf.

    A named tuple rather than a dataclass: millions are built when a log is verified.
    """

    id: int
    kind: str
    version: int
    occurred_at: datetime
    actor_id: UUID | None
    payload: Mapping[str, object]


class SubjectEvent(NamedTuple):
    """An event naming one subject (an evidence item, say) with its leaf once sequenced."""

    event: QueuedEvent
    index: int | None
    leaf: bytes | None


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What the sequencer needs of an account: its kind, staff role and agency."""

    kind: str
    role: str | None
    agency_id: UUID | None


@dataclass(frozen=True, slots=True)
class Opening:
    """One commitment its holder may open: the leaf, what it commits to, the secret."""

    index: int
    slot: str
    event: QueuedEvent
    account_id: UUID | None
    agency_id: UUID | None
    secret: bytes


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A signed checkpoint as stored: the note is authoritative, the rest is for queries."""

    size: int
    root: bytes
    note: str
    verifier_key: str
    signed_at: datetime


class AuditLogReader(Protocol):
    """A consistent read-only view of the log (one snapshot)."""

    def size(self) -> int:
        """Number of leaves: one past the highest stored index."""
        ...

    def latest_checkpoint(self) -> StoredCheckpoint | None: ...

    def checkpoints(self, after_size: int, limit: int) -> list[StoredCheckpoint]:
        """Checkpoints with ``size > after_size``, smallest first."""
        ...

    def leaves(self, start: int, end: int) -> list[LeafRow]:
        """Stored leaves with ``start <= index < end``, in index order."""
        ...

    def leaf_data_at(self, indexes: Collection[int]) -> dict[int, bytes]:
        """The bytes of the leaves at these indexes (those that exist)."""
        ...

    def secrets_at(self, indexes: Collection[int]) -> dict[int, dict[str, bytes]]:
        """The kept secrets of the leaves at these indexes, by slot."""
        ...

    def cosignatures(self, sizes: Collection[int]) -> dict[int, list[str]]:
        """Witness cosignature lines stored for the checkpoints of these sizes."""
        ...

    def cosigned_size(self, witness: str) -> int:
        """The largest checkpoint size ``witness`` cosigned for this log (0 if none)."""
        ...

    def nodes(self, ids: Collection[NodeId]) -> dict[NodeId, bytes]:
        """The stored complete nodes among ``ids`` (level 0: leaf hashes)."""
        ...

    def openings(self, *, account_id: UUID | None = None, agency_id: UUID | None = None,
                 after: int = -1, limit: int = 1000) -> list[Opening]:
        """Commitments the account may open (or, for an agency, the identities of its
        staff in public leaves: not their own events), leaf index above ``after``,
        smallest first; with neither, every one (oversight)."""
        ...

    def subjects_events(self, field: str, values: Collection[str], kinds: Collection[str]
                        ) -> list[SubjectEvent]:
        """The events of these kinds whose payload ``field`` is one of ``values``, by id,
        each with its leaf index and bytes once sequenced (evidence items' custody chains)."""
        ...


class AuditLogWriter(AuditLogReader, Protocol):
    """The single writer's view: one transaction holding the sequencer lock."""

    def last_event_id(self) -> int:
        """The highest event id in a leaf, 0 for an empty log (leaves of a batch are
        shuffled, so it need not be the last leaf's)."""
        ...

    def last_event_before(self, after_id: int, moment: datetime) -> int | None:
        """The highest id above ``after_id`` of an event that occurred before ``moment``
        (None: none).  Events in between that occurred later go in the same batch."""
        ...

    def last_batch_time(self) -> str | None:
        """The time field of the last leaf (its batch's time), None for an empty log."""
        ...

    def accounts(self, ids: Collection[UUID]) -> dict[UUID, AccountFacts]:
        """The accounts among ``ids`` that exist."""
        ...

    def queued_events(self, after_id: int, up_to: int | None, limit: int) -> list[QueuedEvent]:
        """Events with ``after_id < id <= up_to`` (no upper bound for None), by id."""
        ...

    def append(self, leaves: Sequence[LeafRow], nodes: Sequence[Node],
               openings: Sequence[OpeningRow] = ()) -> None:
        """Store new leaves, every complete node they created (leaf hashes included) and
        the secrets that open their commitments."""
        ...

    def forget(self, account_id: UUID) -> int:
        """Delete every secret ``account_id`` could open: those commitments can never be
        opened again.  How many were deleted."""
        ...

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None: ...

    def add_cosignature(self, size: int, witness: str, line: str, cosigned_at: int) -> bool:
        """Store a verified cosignature line; False when that witness's is already stored."""
        ...


class AuditLogStore(Protocol):
    """Opens views of the log; each view is one transaction."""

    def reading(self) -> AbstractContextManager[AuditLogReader]: ...

    def sequencing(self) -> AbstractContextManager[AuditLogWriter]:
        """Take the single-writer lock; commit on a normal exit, roll back on an exception."""
        ...

    def queue_horizon(self) -> int | None:
        """The highest event id that no in-flight transaction can still fill in below.

        None means no bound is needed (writers are serialised, as on SQLite).  Raises
        AuditQueueBusy when the bound cannot be established right now.
        """
        ...


class AuditLogSource(Protocol):
    """What a verifier reads: the local database or another deployment's public API."""

    def size(self) -> int: ...

    def checkpoints(self) -> Iterator[StoredCheckpoint]:
        """Every stored checkpoint, smallest size first."""
        ...

    def leaf_chunks(self, start: int, end: int) -> Iterator[Sequence[LeafRow]]:
        """Stored leaves with ``start <= index < end``, in index order, a chunk at a time."""
        ...

    def leaf_data(self, start: int, end: int) -> Iterator[Sequence[LeafData]]:
        """The same leaves as ``leaf_chunks``, without index and event id (the fast path)."""
        ...

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """The proof the log serves; LookupError or ValueError when it cannot serve one."""
        ...


class LeafEvent(NamedTuple):
    """A leaf as the local check sees it: its event (None for padding, or when the row
    is gone: ``event_id`` then says which) and its openings by slot."""

    index: int
    data: bytes
    event_id: int | None
    event: QueuedEvent | None
    secrets: Mapping[str, bytes]


class AuditEventSource(Protocol):
    """The local queue of events, to check that every leaf still describes its event."""

    def leaf_events(self, end: int) -> Iterator[Sequence[LeafEvent]]:
        """Every leaf below ``end`` with its event and the secrets that open it."""
        ...

    def first_skipped_event(self) -> tuple[int, int] | None:
        """``(event id, leaf index)`` of the first event older than the last leaf's event
        that no leaf holds, with the index of the first leaf holding a later event."""
        ...


class WitnessState(Protocol):
    """A witness's memory: the last checkpoint it cosigned for each log it witnesses."""

    def latest(self, origin: str) -> tuple[str, str] | None:
        """``(checkpoint body, signed note)`` last cosigned for ``origin``, None if none."""
        ...

    def advance(self, origin: str, expected_size: int | None, size: int, body: str,
                note: str) -> bool:
        """Record a cosigned checkpoint if the stored size is still ``expected_size`` (None:
        nothing stored); False when another request moved it first."""
        ...


class WitnessUnavailable(RuntimeError):
    """A witness could not be reached or gave an answer outside the protocol."""


class WitnessConflict(Exception):
    """A witness answered 409 with its own size: the ``old`` line was stale."""

    def __init__(self, known_size: int) -> None:
        super().__init__(f"the witness is at size {known_size}")
        self.known_size = known_size


class WitnessRefused(Exception):
    """A witness refused to cosign (400, 403, 404, 409 without a size, 422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class WitnessClient(Protocol):
    """One witness's ``add-checkpoint`` endpoint."""

    def add_checkpoint(self, body: bytes) -> str:
        """POST the request body; the cosignature lines, or WitnessConflict, WitnessRefused,
        WitnessUnavailable."""
        ...
