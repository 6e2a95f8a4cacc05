"""Verify a whole audit log: signatures, the chain of checkpoints, every leaf, every event.

The verifier trusts exactly one thing, the checkpoint verifier key.  Everything else — the
stored checkpoints, leaves, tree nodes and events, or the answers of a remote API — is
checked against the checkpoints that key signed.

**First bad index.**  The report names the smallest leaf index from which the verifier
can no longer vouch for the stored log.  Every leaf before it is proven: its bytes hash
into a root that a trusted signature covers (and, locally, it still encodes its event).
The leaf at it is changed, missing, inserted, moved, unproven although a signed
checkpoint covers it, or — locally — disagrees with its event.  It comes from:

* record checks, exact by construction: a gap in the indexes, a stored leaf hash that
  does not match the leaf bytes and, locally, a leaf that no longer encodes its event,
  event ids out of order, an event left out between two leaves;
* the signed roots: the first authentic checkpoint whose root the stored leaves do not
  reproduce is bisected with consistency proofs (served by the same log) from prefixes
  of the recomputed tree.  A proof that verifies proves the prefix, whoever served it, so
  the index found is never after the first real change.  It is exact when the tree nodes
  stored next to the damage are intact; when an attacker also rewrote those, the index
  is the first leaf the remaining authentic data can no longer prove — a little earlier;
* checkpoint rows: a row whose note is not signed by the key, or whose size or root
  disagree with its note, implicates the leaves it was the first to cover, so the index
  is the size of the checkpoint row before it.

**Forks.**  A trusted checkpoint (given by the user) outranks the stored ones.  When the
stored leaves fail one and the key is seen to have signed another history too — another
root for its size, or a larger checkpoint the stored leaves reproduce — the stored
checkpoints may all be that history's (a log rolled back and grown again signs with the
same key), so none of them vouches for a leaf: only trusted checkpoints and proofs into
the failed one do.  The index is exact while the tree nodes around the fork are intact;
once the fork has replaced them, nothing proves a leaf into the trusted checkpoint, and it
is the largest trusted checkpoint below — 0 without one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from porchlight.audit.domain import (
    Checkpoint,
    CheckpointError,
    CheckpointVerifier,
    CompactRange,
    CosignatureVerifier,
    verify_consistency,
)
from porchlight.audit.services.log import leaf_batch_time, leaf_matches
from porchlight.audit.services.ports import AuditEventSource, AuditLogSource, LeafData
from porchlight.audit.services.tree import RecomputedTree

Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: phases are checkpoints, leaves, events, locating."""


def _no_progress(_phase: str, _done: int, _total: int) -> None:
    return None


@dataclass(frozen=True)
class Problem:
    index: int | None
    code: str
    message: str


@dataclass
class VerifyReport:
    size: int = 0
    checkpoints: int = 0
    signed_size: int = 0
    latest_note: str | None = None
    witnessed_size: int | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_index(self) -> int | None:
        indexes = [p.index for p in self.problems if p.index is not None]
        return min(indexes) if indexes else None

    def add(self, index: int | None, code: str, message: str) -> None:
        """Keep the first problem of each kind: later ones are usually its consequences."""
        if all(p.code != code for p in self.problems):
            self.problems.append(Problem(index, code, message))


@dataclass(frozen=True)
class WitnessPolicy:
    """Trust a checkpoint only once ``minimum`` of these witnesses cosigned it."""

    witnesses: Sequence[CosignatureVerifier]
    minimum: int


@dataclass
class _Signed:
    checkpoint: Checkpoint
    note: str
    trusted: bool = False
    contradicted: bool = False
    """The key also signed another root for this size."""


@dataclass
class _Scan:
    count: int = 0
    proven: int = 0
    failed: Checkpoint | None = None
    also_failed: int = 0
    reproduced_after: int = 0
    """The largest checkpoint after ``failed`` whose root the stored leaves do reproduce."""


def verify_log(
    source: AuditLogSource,
    verifier: CheckpointVerifier,
    *,
    events: AuditEventSource | None = None,
    trusted: Iterable[str] = (),
    progress: Progress = _no_progress,
    witnesses: WitnessPolicy | None = None,
) -> VerifyReport:
    """Check everything ``source`` holds against ``verifier``; see the module docstring.

    With ``witnesses``, ``latest_note`` is the newest checkpoint cosigned by enough of
    them, and the report fails when there is none."""
    report = VerifyReport()
    chain = _authentic_chain(source, verifier, trusted, report)
    if witnesses is not None:
        _check_witnesses(chain, witnesses, report)
    _check_chain(source, chain, report, progress)
    scan = _scan_leaves(source, [s.checkpoint for s in chain], report, progress)
    report.size = scan.count
    if events is not None:
        _check_events(events, scan.count, report, progress)
    if scan.failed is not None:
        _locate(source, chain, scan, report, progress)
    if scan.count and not chain:
        report.add(0, "unsigned", f"{scan.count} leaves but no checkpoint signed by the key")
    report.problems.sort(key=lambda p: (p.index is None, p.index or 0))
    return report


def _authentic_chain(
    source: AuditLogSource, verifier: CheckpointVerifier, trusted: Iterable[str],
    report: VerifyReport,
) -> list[_Signed]:
    """Open every stored checkpoint with the key; keep the authentic ones, by size."""
    chain: dict[int, _Signed] = {}
    for note in trusted:  # first, so that where they disagree the trusted one counts
        _merge(chain, _Signed(verifier.open(note), note, trusted=True), report)
    previous_row = 0
    for row in source.checkpoints():
        try:
            checkpoint = verifier.open(row.note)
        except CheckpointError as exc:
            report.add(previous_row, "checkpoint_signature",
                       f"the checkpoint stored for size {row.size} is not authentic: {exc}")
        else:
            if (checkpoint.size, checkpoint.root) != (row.size, row.root):
                what = (f"holds the note signed for size {checkpoint.size}"
                        if checkpoint.size != row.size else "has a root its note does not sign")
                report.add(previous_row, "checkpoint_row",
                           f"the checkpoint row for size {row.size} {what}")
            _merge(chain, _Signed(checkpoint, row.note), report)
        previous_row = row.size
    ordered = [chain[size] for size in sorted(chain)]
    report.checkpoints = len(ordered)
    if ordered:
        report.signed_size = ordered[-1].checkpoint.size
        report.latest_note = ordered[-1].note
    return ordered


def _check_witnesses(chain: Sequence[_Signed], policy: WitnessPolicy,
                     report: VerifyReport) -> None:
    """Find the newest checkpoint that ``policy.minimum`` of the named witnesses cosigned."""
    best = 0
    for signed in reversed(chain):
        count = sum(_cosigned(signed.note, witness) for witness in policy.witnesses)
        best = max(best, count)
        if count >= policy.minimum:
            report.witnessed_size = signed.checkpoint.size
            report.latest_note = signed.note
            return
    report.latest_note = None
    names = ", ".join(w.name for w in policy.witnesses)
    report.add(None, "witnesses", f"no checkpoint is cosigned by {policy.minimum} of the "
               f"witnesses {names} (at most {best})")


def _cosigned(note: str, witness: CosignatureVerifier) -> bool:
    try:
        witness.verify(note)
    except CheckpointError:
        return False
    return True


def _merge(chain: dict[int, _Signed], signed: _Signed, report: VerifyReport) -> None:
    known = chain.setdefault(signed.checkpoint.size, signed)
    if known.checkpoint.root != signed.checkpoint.root:
        known.contradicted = True
        report.add(None, "fork", f"two checkpoints signed by the key for size "
                   f"{signed.checkpoint.size} have different roots: the log forked")


def _check_chain(
    source: AuditLogSource, chain: Sequence[_Signed], report: VerifyReport, progress: Progress
) -> None:
    """Each checkpoint must provably extend the one before it, with the log's own proof."""
    for done, (older, newer) in enumerate(pairwise(chain), start=1):
        a, b = older.checkpoint, newer.checkpoint
        try:
            proof = source.consistency_proof(a.size, b.size)
            verify_consistency(a.size, b.size, proof, a.root, b.root)
        except (LookupError, ValueError) as exc:
            report.add(None, "consistency",
                       f"the log cannot prove checkpoint {a.size} extends into {b.size}: {exc}")
        progress("checkpoints", done, len(chain) - 1)


def _scan_leaves(
    source: AuditLogSource, chain: Sequence[Checkpoint], report: VerifyReport,
    progress: Progress,
) -> _Scan:
    """Stream every leaf once: hash it, check its stored hash, and the root at each checkpoint.

    This is the hot loop of verification, so it reads only bytes and stored hashes; indexes
    are looked at only when their count shows a gap.
    """
    scan, compact, total = _Scan(), CompactRange(), source.size()
    targets = iter(chain)
    target = next(targets, None)
    for rows in source.leaf_data(0, total):
        hashes = [_sha256(b"\x00" + row[0]).digest() for row in rows]
        if hashes != [row[1] for row in rows]:
            _report_stored_hash(hashes, rows, scan.count, report)
        offset = 0
        while target is not None and target.size <= scan.count + len(hashes):
            compact.extend(hashes[offset : target.size - scan.count])
            offset = target.size - scan.count
            _compare_root(scan, target, compact.root())
            target = next(targets, None)
        compact.extend(hashes[offset:])
        scan.count += len(rows)
        progress("leaves", scan.count, max(total, scan.count))
    if target is not None and scan.failed is None:
        scan.failed = target  # a signed checkpoint covers leaves that are not there
    if scan.count != total:
        _report_gap(source, total, report)
    return scan


def _compare_root(scan: _Scan, target: Checkpoint, root: bytes) -> None:
    if scan.failed is not None:
        if root == target.root:
            scan.reproduced_after = target.size
        else:
            scan.also_failed += 1
    elif root == target.root:
        scan.proven = target.size
    else:
        scan.failed = target


_sha256 = hashlib.sha256


def _report_stored_hash(
    hashes: list[bytes], rows: Sequence[LeafData], position: int, report: VerifyReport
) -> None:
    at = next(i for i, (digest, row) in enumerate(zip(hashes, rows, strict=True))
              if digest != row[1])
    report.add(position + at, "leaf_hash",
               f"the stored hash of leaf {position + at} does not match its bytes")


def _report_gap(source: AuditLogSource, total: int, report: VerifyReport) -> None:
    """Fewer leaves than the highest index implies: name the first index with no leaf."""
    position = 0
    for rows in source.leaf_chunks(0, total):
        for index, *_ in rows:
            if index != position:
                report.add(position, "leaf_missing", f"there is no leaf {position}: the "
                           f"leaf stored after leaf {position - 1} has index {index}")
                return
            position += 1


def _check_events(
    events: AuditEventSource, count: int, report: VerifyReport, progress: Progress
) -> None:
    """Every leaf must still encode the event it was made from (a resident's commitment
    only while its secret is kept), and batches must hold events in id order: every event
    of a batch comes after every event of the batches before it (inside a batch the
    leaves are shuffled; a version 1 leaf is a batch of its own)."""
    done, before, batch_top, batch = 0, 0, 0, None
    for rows in events.leaf_events(count):
        for index, data, event_id, event, secrets_by_slot in rows:
            time = leaf_batch_time(data)  # None for a version 1 leaf
            if event is None:
                padding = (event_id is None and time is not None
                           and data.startswith(b'{"commitment":'))
                if not padding:
                    report.add(index, "event_missing", f"the event of leaf {index} is gone")
                continue
            if leaf_matches(data, event, secrets_by_slot) is False:
                report.add(index, "event_mismatch", f"leaf {index} no longer encodes its "
                           f"event {event.id}: the leaf or the event was changed")
            if time is None or time != batch:
                before, batch = max(before, batch_top), time
            if event.id <= before:
                report.add(index - 1, "leaf_order", f"leaf {index} holds event {event.id}, "
                           f"which is not after every event of the batches before it")
            batch_top = max(batch_top, event.id)
        done += len(rows)
        progress("events", done, count)
    skipped = events.first_skipped_event()
    if skipped is not None:
        event_id, index = skipped
        report.add(index, "event_skipped", f"event {event_id} predates leaf {index}'s event "
                   "but is in no leaf: a leaf was removed or the event was added later")


def _locate(
    source: AuditLogSource, chain: Sequence[_Signed], scan: _Scan, report: VerifyReport,
    progress: Progress,
) -> None:
    """Bisect for the longest prefix of the stored leaves the failed checkpoint proves."""
    target = scan.failed
    assert target is not None
    forked = _forked(chain, scan, report)
    floor = scan.proven if not forked else max(  # only trusted checkpoints still vouch
        (s.checkpoint.size for s in chain if s.trusted and s.checkpoint.size < target.size),
        default=0)
    high = min(target.size, scan.count)
    tree = RecomputedTree.from_chunks(source.leaf_data(0, source.size()), high, progress)

    def proven(size: int) -> bool:
        if size == floor:
            return True
        root = tree.root(size)
        if size == target.size:
            return root == target.root
        try:
            proof = source.consistency_proof(size, target.size)
            verify_consistency(size, target.size, proof, root, target.root)
        except (LookupError, ValueError):
            return False
        return True

    good = _bisect(floor, high, proven)
    _report_unproven(report, scan, target, good, forked=forked)


def _forked(chain: Sequence[_Signed], scan: _Scan, report: VerifyReport) -> bool:
    """Is the failed checkpoint a trusted one that the key is seen to have forked from?

    Seen: the key signed another root for its size, or a larger checkpoint that the stored
    leaves reproduce.  A rolled-back log that grew again signs its new leaves with the same
    key, so then every stored checkpoint may be the other history's — the ones below the
    trusted checkpoint included — and none of them may vouch for a leaf against it."""
    assert scan.failed is not None
    size = scan.failed.size
    failed = next(s for s in chain if s.checkpoint.size == size)
    if not failed.trusted or not (failed.contradicted or scan.reproduced_after):
        return False
    if scan.reproduced_after:
        report.add(None, "fork", f"the stored leaves reproduce the checkpoint the key signed "
                   f"for size {scan.reproduced_after} but not the trusted one for size {size}: "
                   "the key signed two histories, and the log follows the other one")
    return True


def _bisect(low: int, high: int, proven: Callable[[int], bool]) -> int:
    """Largest size in [low, high] that is proven, given that ``low`` is."""
    if proven(high):
        return high
    while high - low > 1:
        middle = (low + high) // 2
        if proven(middle):
            low = middle
        else:
            high = middle
    return low


def _report_unproven(report: VerifyReport, scan: _Scan, target: Checkpoint, good: int,
                     *, forked: bool = False) -> None:
    later = f"; {scan.also_failed} later checkpoints fail too" if scan.also_failed else ""
    if scan.count < target.size:
        later += (f"; the stored log stops at {scan.count}, short of the {target.size} "
                  "leaves the checkpoint covers")
    if good == scan.count < target.size:
        report.add(good, "truncated", f"the checkpoint for size {target.size} proves every "
                   f"stored leaf, but leaves {good} to {target.size - 1} are gone")
        return
    proved = f"leaves 0 to {good - 1}" if good else "no leaf"
    if forked:
        report.add(good, "unproven", f"trusted checkpoints prove {proved}, not leaf {good} that "
                   f"the one for size {target.size} covers; since the log forked, its own "
                   f"checkpoints vouch for no more: from leaf {good} on, the stored leaves may "
                   f"be the fork's{later}")
        return
    report.add(good, "unproven", f"the checkpoint for size {target.size} proves {proved} "
               f"but not leaf {good}: it was changed, removed, inserted or moved{later}")
