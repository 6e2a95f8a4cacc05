"""The audit log sequencer: queued audit events become leaves, nodes and signed checkpoints.

Batches: at most one per window (a minute by default).  One writer at a time (the
store's lock) takes every event queued since the last batch, up to ``batch_size`` per
transaction, and turns each into a leaf as ``domain.disclosure`` says: a readable leaf
for a public-interest event, with its accounts committed; a bare commitment for an
event about a resident.  Random commitments pad the batch's commitments to a multiple
of ``pad_to``, the leaves are shuffled, and every leaf carries the batch's time only:
the public log cannot count a small delivery, link two events of one resident, tell a
decline from any other resident event, or place a sign-in finer than the window.

The leaf hashes are appended to the compact range resumed from the stored border nodes
(O(log n) per leaf); leaves, the complete nodes they create and the secrets that open
the commitments are stored in the same transaction.  When the tree grew and the last
checkpoint is older than the configured interval, the sequencer signs the new tree
head — only through ``sign_next``, with a consistency proof from the previous signed
checkpoint.  A crash loses at most the open transaction, which the next run redoes (with
new secrets, padding and order: nothing of it was ever published).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from uuid import UUID

from porchlight.audit.domain import (
    Checkpoint,
    CheckpointSigner,
    CheckpointVerifier,
    CompactRange,
    consistency_plan,
    disclosure,
    evaluate_plan,
    leaf_hash,
    range_nodes,
    root_at,
)
from porchlight.audit.services.ports import (
    AccountFacts,
    AuditLogStore,
    AuditLogWriter,
    LeafRow,
    OpeningRow,
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
    """Canonical JSON: sorted keys, no spaces, ASCII only — one byte string per event.

    A version 1 leaf was exactly this; a version 2 resident leaf commits to it (with the
    event's exact time), and an opening shows it."""
    return _CANONICAL.encode(leaf_entry(event)).encode("ascii")


def committed_bytes(event: QueuedEvent) -> bytes:
    """What a resident commitment commits to, and what its opening shows: the event as a
    version 1 leaf without its id (a global counter: two openings would tell how many
    events happened between them)."""
    entry = leaf_entry(event)
    del entry["event_id"]
    return _CANONICAL.encode(entry).encode("ascii")


def _role(facts: AccountFacts | None) -> str:
    if facts is None:
        return "unknown"
    if facts.kind == "staff":
        return facts.role or "staff"
    return facts.kind  # "resident" or "platform_admin"


Secrets = Mapping[str, bytes]
"""Slot -> secret: what opens the commitments of one leaf."""


def public_entry(event: QueuedEvent, time: str, secrets_by_slot: Secrets,
                 actor: Mapping[str, object] | None, known: Mapping[str, object] | None = None
                 ) -> dict[str, object]:
    """A public leaf's content.  ``actor`` holds the actor's role and agency (its
    commitment is made from the ``actor`` secret); ``known`` supplies commitments whose
    secret is gone (a check of an old leaf reuses what the leaf says)."""
    known = known or {}
    entry: dict[str, object] = {"kind": event.kind, "time": time, "v": disclosure.LEAF_VERSION,
                                "version": event.version}
    if event.actor_id is None or actor is None:
        entry["actor"] = None
    else:
        secret = secrets_by_slot.get("actor")
        commitment = (disclosure.commit_identity(secret, str(event.actor_id))
                      if secret is not None else known.get("actor"))
        entry["actor"] = {**actor, "commitment": commitment}
    payload = safe_payload(event.kind, event.payload)
    for field in disclosure.PUBLIC_KINDS[event.kind]:
        value = payload.get(field)
        if isinstance(value, str):
            secret = secrets_by_slot.get(f"payload.{field}")
            payload[field] = {"commitment": disclosure.commit_identity(secret, value)
                              if secret is not None else known.get(f"payload.{field}")}
    entry["payload"] = payload
    return entry


def encode(entry: Mapping[str, object]) -> bytes:
    return _CANONICAL.encode(entry).encode("ascii")


def known_commitments(leaf: Mapping[str, object]) -> dict[str, object]:
    """The commitments a public leaf holds, by slot."""
    known: dict[str, object] = {}
    actor = leaf.get("actor")
    if isinstance(actor, dict):
        known["actor"] = actor.get("commitment")
    payload = leaf.get("payload")
    if isinstance(payload, dict):
        for field, value in payload.items():
            if isinstance(value, dict):
                known[f"payload.{field}"] = value.get("commitment")
    return known


def leaf_matches(data: bytes, event: QueuedEvent, secrets_by_slot: Secrets) -> bool | None:
    """Whether a leaf still encodes its event: True, False, or None when it cannot be
    told (a resident's commitment whose secret was deleted)."""
    if not data.startswith((b'{"actor":', b'{"commitment":')):
        return leaf_bytes(event) == data  # version 1: the event itself
    try:
        leaf = json.loads(data)
    except ValueError:
        return False
    if not isinstance(leaf, dict) or leaf.get("v") != disclosure.LEAF_VERSION:
        return False
    if "commitment" in leaf:
        secret = secrets_by_slot.get("event")
        if disclosure.is_public(event.kind):
            return False
        if secret is None:
            return None
        return disclosure.opens(str(leaf["commitment"]), secret, committed_bytes(event))
    if not disclosure.is_public(event.kind):
        return False
    actor = leaf.get("actor")
    meta = ({k: v for k, v in actor.items() if k != "commitment"}
            if isinstance(actor, dict) else None)
    expected = public_entry(event, str(leaf.get("time")), secrets_by_slot, meta,
                            known_commitments(leaf))
    return encode(expected) == data


def leaf_batch_time(data: bytes) -> str | None:
    """The ``time`` of a version 2 leaf (its batch), None for a version 1 leaf."""
    try:
        leaf = json.loads(data)
    except ValueError:
        return None
    if isinstance(leaf, dict) and leaf.get("v") == disclosure.LEAF_VERSION:
        time = leaf.get("time")
        return time if isinstance(time, str) else None
    return None


@dataclass(frozen=True)
class SequencerConfig:
    origin: str
    batch_size: int = 5000
    checkpoint_interval: timedelta = timedelta(seconds=5)
    batch_window: timedelta = timedelta(seconds=60)
    pad_to: int = 16
    # Both on in every deployment; off only in tests of the tree machinery, which address
    # leaves by their events' order and sequence several times at one fixed clock.
    shuffle: bool = True
    one_batch_per_window: bool = True


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

    def run_pass(self, *, force: bool = False) -> SequenceResult:
        """Sequence the events of every window that closed since the last batch, as one
        batch stamped with the latest closed window; then sign if due.

        A batch holds the events that occurred before the current window began, so neither
        its leaves' time nor the moment the tree grows says more than the window, and
        nothing happens while the closed window already has its batch.  ``force`` (an
        operator's manual run) takes everything queued, stamped with the current window."""
        now, width = self.clock.now(), self.config.batch_window
        horizon = self.store.queue_horizon()
        before: datetime | None = None
        if force or not self.config.one_batch_per_window:
            time = disclosure.batch_time(now, width)
        else:
            before = disclosure.window_start(now, width)
            time = disclosure.batch_time(before - width, width)
        if before is not None:  # once per pass: the closed windows' last event bounds it
            with self.store.sequencing() as writer:
                top = writer.last_event_before(writer.last_event_id(), before)
            if top is None:
                return self.run_batch(horizon, time=time, before=before, force=force)
            horizon = top if horizon is None else min(horizon, top)
        total, signed = 0, None
        while True:
            result = self.run_batch(horizon, time=time, force=force or total > 0)
            total += result.sequenced
            signed = result.checkpoint or signed
            if result.sequenced < self.config.batch_size:
                return SequenceResult(total, result.size, signed)

    def run_batch(self, horizon: int | None = None, *, time: str | None = None,
                  before: datetime | None = None, force: bool = False) -> SequenceResult:
        """One transaction: up to batch_size events (that occurred ``before``, if given)
        become leaves stamped ``time``, unless a batch with that time exists already
        (``force`` skips that check); sign if due."""
        time = time or disclosure.batch_time(self.clock.now(), self.config.batch_window)
        with self.store.sequencing() as writer:
            size = writer.size()
            events: list[QueuedEvent] = []
            last = writer.last_batch_time() if size else None
            if force or not self.config.one_batch_per_window or last is None or last < time:
                after = writer.last_event_id()
                bound = horizon
                if before is not None:
                    top = writer.last_event_before(after, before)
                    bound = top if bound is None or top is None else min(bound, top)
                if before is None or bound is not None:
                    events = writer.queued_events(after, bound, self.config.batch_size)
            if events:
                size = self._append(writer, size, events, time)
            checkpoint = self._sign_if_due(writer, size)
        return SequenceResult(len(events), size, checkpoint)

    def _append(self, writer: AuditLogWriter, size: int, events: list[QueuedEvent],
                time: str) -> int:
        items = self._leaves(writer, events, time)
        border = writer.nodes(range_nodes(0, size)) if size else {}
        compact = CompactRange.from_nodes(size, lambda level, index: border[(level, index)])
        first = compact.size
        hashes = [leaf_hash(data) for data, _, _ in items]
        nodes = compact.append_all(hashes)
        leaves: list[LeafRow] = [(index, event_id, data, digest) for index, (data, event_id, _),
                                 digest in zip(count(first), items, hashes)]
        openings: list[OpeningRow] = [
            (index, slot, event_id, account, agency, secret)
            for index, (_, event_id, held) in zip(count(first), items) if held
            for slot, account, agency, secret in held]
        writer.append(leaves, nodes, openings)
        return compact.size

    def _leaves(self, writer: AuditLogWriter, events: list[QueuedEvent], time: str
                ) -> list[tuple[bytes, int | None, list[_Held]]]:
        """Every event's leaf and openings, the padding, in a random order."""
        accounts = writer.accounts(_accounts_named(events))
        items: list[tuple[bytes, int | None, list[_Held]]] = []
        pool, real = _SecretPool(len(events) + self.config.pad_to), 0
        for event in events:
            if disclosure.is_public(event.kind):
                items.append(_public_leaf(event, time, accounts, pool))
            else:
                items.append(_resident_leaf(event, time, accounts, pool))
                real += 1
        for _ in range(disclosure.padding_count(real, self.config.pad_to)):
            items.append((disclosure.commitment_leaf(pool.take().hex(), time), None, []))
        if self.config.shuffle:
            secrets.SystemRandom().shuffle(items)
        return items

    def forget(self, account_id: UUID) -> int:
        """Delete the secrets of every commitment ``account_id`` could open: first the
        events still queued become leaves (or their secrets would come after), then every
        secret goes, under the sequencer's lock."""
        self.run_pass(force=True)
        with self.store.sequencing() as writer:
            return writer.forget(account_id)

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


class _SecretPool:
    """Fresh 32-byte secrets, read from the OS ``expected`` at a time (a batch's worth: one
    system call per batch rather than one per event); each is handed out once."""

    def __init__(self, expected: int = 1024) -> None:
        self._buffer, self._at, self._count = b"", 0, max(1, expected)

    def take(self) -> bytes:
        if self._at >= len(self._buffer):
            self._buffer = secrets.token_bytes(disclosure.SECRET_SIZE * self._count)
            self._at = 0
        self._at += disclosure.SECRET_SIZE
        return self._buffer[self._at - disclosure.SECRET_SIZE:self._at]


_Held = tuple[str, UUID | None, UUID | None, bytes]
"""``(slot, account, agency, secret)``: one opening of a leaf being built."""


def _accounts_named(events: list[QueuedEvent]) -> set[UUID]:
    ids: set[UUID] = set()
    for event in events:
        if event.actor_id is not None:
            ids.add(event.actor_id)
        fields = disclosure.PUBLIC_KINDS.get(event.kind, ())
        for field in (*fields, *disclosure.SUBJECT_FIELDS):
            value = _uuid(event.payload.get(field))
            if value is not None:
                ids.add(value)
    return ids


def _uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def _public_leaf(event: QueuedEvent, time: str, accounts: Mapping[UUID, AccountFacts],
                 pool: _SecretPool) -> tuple[bytes, int | None, list[_Held]]:
    held: list[_Held] = []
    by_slot: dict[str, bytes] = {}
    actor = None
    if event.actor_id is not None:
        facts = accounts.get(event.actor_id)
        agency = facts.agency_id if facts else None
        actor = {"agency_id": str(agency) if agency else None, "role": _role(facts)}
        by_slot["actor"] = pool.take()
        held.append(("actor", event.actor_id, agency, by_slot["actor"]))
    for field in disclosure.PUBLIC_KINDS[event.kind]:
        value = event.payload.get(field)
        if not isinstance(value, str):
            continue
        slot = f"payload.{field}"
        by_slot[slot] = pool.take()
        account = _uuid(value)
        facts = accounts.get(account) if account is not None else None
        if facts is not None:  # an account: it may open it, and so may its agency
            held.append((slot, account, facts.agency_id, by_slot[slot]))
        else:  # a value (a digest): the agency the event is about may open it
            held.append((slot, None, _uuid(event.payload.get("agency_id")), by_slot[slot]))
    return encode(public_entry(event, time, by_slot, actor)), event.id, held


def _resident_leaf(event: QueuedEvent, time: str, accounts: Mapping[UUID, AccountFacts],
                   pool: _SecretPool) -> tuple[bytes, int | None, list[_Held]]:
    secret = pool.take()
    commitment = disclosure.commit_event(secret, committed_bytes(event))
    field = disclosure.subject_field(event.payload)
    subject = _uuid(event.payload.get(field)) if field else event.actor_id
    facts = accounts.get(subject) if subject is not None else None
    # No subject (a failed sign-in for an unknown address): oversight alone opens it.
    held: list[_Held] = [("event", subject, facts.agency_id if facts else None, secret)]
    return disclosure.commitment_leaf(commitment, time), event.id, held
