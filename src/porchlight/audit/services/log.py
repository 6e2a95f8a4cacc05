"""The audit log sequencer: queued audit events become leaves, nodes and signed checkpoints.

One writer at a time (the store's lock) takes the events after the last sequenced one in
id order, a batch per transaction: it encodes each event as a canonical leaf, appends the
leaf hashes to the compact range resumed from the stored border nodes (O(log n) per leaf)
and stores the leaves and the complete nodes they create.  When the tree grew and the last
checkpoint is older than the configured interval, it signs the new tree head — only through
``sign_next``, with a consistency proof from the previous signed checkpoint.  A crash
loses at most the open batch, which the next run redoes identically: a leaf depends only
on its event, and the order only on event ids.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from porchlight.audit.domain import (
    Checkpoint,
    CheckpointSigner,
    CheckpointVerifier,
    CompactRange,
    consistency_plan,
    evaluate_plan,
    leaf_hash,
    range_nodes,
    root_at,
)
from porchlight.audit.services.ports import (
    AuditLogStore,
    AuditLogWriter,
    LeafRow,
    QueuedEvent,
    StoredCheckpoint,
)
from porchlight.kernel.services.ports import Clock

log = logging.getLogger(__name__)

LEAF_FORMAT_VERSION = 1
REDACTED = "redacted"
_CODE = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,63}")
# A short code (which covers UUIDs), a hex SHA-256 digest, or an ISO 8601 timestamp.
_SAFE_TEXT = re.compile(
    r"[a-z0-9][a-z0-9_.:-]{0,63}|[0-9a-f]{64}"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)"
)


def leaf_time(moment: datetime) -> str:
    """UTC to the millisecond, e.g. ``2026-11-01T12:00:00.123Z`` (truncated, never rounded)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:23] + "Z"


def _safe_value(value: object) -> object:
    """Ids, numbers, digests, codes and timestamps pass; anything else is redacted."""
    if value is None or isinstance(value, bool) or type(value) is int:
        return value
    if isinstance(value, str) and _SAFE_TEXT.fullmatch(value):
        return value
    return REDACTED


def safe_payload(kind: str, payload: Mapping[str, object]) -> dict[str, object]:
    """The payload as it may appear in a public leaf.

    ``DomainEvent.audit_payload`` already refuses personal data when the event is written;
    this second gate covers rows written any other way.  A field that fails it keeps its
    name with the value "redacted", so the leaf still shows that something was there.
    """
    cleaned: dict[str, object] = {}
    for position, (key, value) in enumerate(payload.items()):
        name = key if _CODE.fullmatch(key) else f"field_{position}"
        safe = _safe_value(value) if name == key else REDACTED
        if safe is REDACTED:
            log.warning("audit leaf field redacted", extra={"kind": kind, "field": name})
        cleaned[name] = safe
    return cleaned


def leaf_entry(event: QueuedEvent) -> dict[str, object]:
    """The public content of one leaf: who (an id), what (a code), when, and ids or digests."""
    kind = event.kind if _CODE.fullmatch(event.kind) else REDACTED
    return {
        "actor_id": str(event.actor_id) if event.actor_id is not None else None,
        "event_id": event.id,
        "kind": kind,
        "payload": safe_payload(kind, event.payload),
        "time": leaf_time(event.occurred_at),
        "version": event.version,
    }


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
)


def leaf_bytes(event: QueuedEvent) -> bytes:
    """Canonical JSON: sorted keys, no spaces, ASCII only — one byte string per event."""
    return _CANONICAL.encode(leaf_entry(event)).encode("ascii")


@dataclass(frozen=True)
class SequencerConfig:
    origin: str
    batch_size: int = 5000
    checkpoint_interval: timedelta = timedelta(seconds=5)


@dataclass(frozen=True)
class SequenceResult:
    """What one pass (or batch) did: leaves added, tree size after it, checkpoint signed."""

    sequenced: int
    size: int
    checkpoint: Checkpoint | None = None


class Sequencer:
    """Turns queued audit events into the Merkle log; safe to run in several processes."""

    def __init__(
        self,
        store: AuditLogStore,
        signer: CheckpointSigner | Callable[[], CheckpointSigner],
        clock: Clock,
        config: SequencerConfig,
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self._signer = signer

    def signer(self) -> CheckpointSigner:
        """The signer, loaded on first use (the key file is only read when signing)."""
        if not isinstance(self._signer, CheckpointSigner):
            self._signer = self._signer()
        return self._signer

    def run_pass(self) -> SequenceResult:
        """Sequence every event committed so far, batch by batch, then sign if due."""
        horizon = self.store.queue_horizon()
        total, signed = 0, None
        while True:
            result = self.run_batch(horizon)
            total += result.sequenced
            signed = result.checkpoint or signed
            if result.sequenced < self.config.batch_size:
                return SequenceResult(total, result.size, signed)

    def run_batch(self, horizon: int | None = None) -> SequenceResult:
        """One transaction: up to batch_size events become leaves; sign if due."""
        with self.store.sequencing() as writer:
            size = writer.size()
            events = writer.queued_events(writer.last_event_id(), horizon, self.config.batch_size)
            if events:
                size = self._append(writer, size, events)
            checkpoint = self._sign_if_due(writer, size)
        return SequenceResult(len(events), size, checkpoint)

    def _append(self, writer: AuditLogWriter, size: int, events: list[QueuedEvent]) -> int:
        border = writer.nodes(range_nodes(0, size)) if size else {}
        compact = CompactRange.from_nodes(size, lambda level, index: border[(level, index)])
        leaves: list[LeafRow] = []
        nodes = []
        for event in events:
            data = leaf_bytes(event)
            digest = leaf_hash(data)
            leaves.append((compact.size, event.id, data, digest))
            nodes.extend(compact.append(digest))
        writer.append(leaves, nodes)
        return compact.size

    def _sign_if_due(self, writer: AuditLogWriter, size: int) -> Checkpoint | None:
        latest = writer.latest_checkpoint()
        now = self.clock.now()
        if size == 0 or (latest is not None and latest.size >= size):
            return None
        if latest is not None and now - latest.signed_at < self.config.checkpoint_interval:
            return None
        return self._sign(writer, latest, size, now)

    def _sign(
        self, writer: AuditLogWriter, latest: StoredCheckpoint | None, size: int, now: datetime
    ) -> Checkpoint:
        signer = self.signer()
        previous = None
        if latest is not None:
            verifier = CheckpointVerifier(signer.verifier_key, origin=self.config.origin)
            previous = verifier.open(latest.note)  # only ever extend what this key signed
        plan = consistency_plan(previous.size, size) if previous else []
        wanted = {node for group in plan for node in group} | set(range_nodes(0, size))
        stored = writer.nodes(wanted)
        root = root_at(size, lambda level, index: stored[(level, index)])
        checkpoint = Checkpoint(self.config.origin, size, root)
        proof = evaluate_plan(plan, lambda level, index: stored[(level, index)])
        note = signer.sign_next(previous, checkpoint, proof)
        writer.add_checkpoint(StoredCheckpoint(size, root, note, signer.verifier_key, now))
        log.info("audit checkpoint signed", extra={"size": size})
        return checkpoint
