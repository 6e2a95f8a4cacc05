"""Witnessing: a witness that cosigns logs' checkpoints, and the log collecting cosignatures.

``Witness`` answers C2SP ``add-checkpoint`` requests: it cosigns a checkpoint only when the
log's key signed it and it provably extends the last checkpoint the witness cosigned for
that log, and then remembers it — so it cosigns one history per log, never a fork or a
rollback.  ``collect_cosignatures`` is the log's side: it sends its newest checkpoint,
with a consistency proof from the size each witness last cosigned, to every configured
witness, checks the cosignature that comes back and stores it beside the checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from porchlight.audit.domain import (
    Checkpoint,
    CheckpointError,
    CheckpointVerifier,
    CosignatureSigner,
    CosignatureVerifier,
    WitnessRefusal,
    check_add_checkpoint,
    claimed_origin,
    format_add_checkpoint,
    parse_add_checkpoint,
)
from porchlight.audit.services import queries
from porchlight.audit.services.ports import (
    AuditLogStore,
    WitnessClient,
    WitnessConflict,
    WitnessRefused,
    WitnessState,
    WitnessUnavailable,
)
from porchlight.kernel.services.ports import Clock

log = logging.getLogger(__name__)


class Witness:
    """A tlog-witness: ``add_checkpoint(body)`` gives the cosignature line or WitnessRefusal."""

    def __init__(self, signer: CosignatureSigner, logs: Sequence[CheckpointVerifier],
                 origins: Sequence[str], state: WitnessState, clock: Clock) -> None:
        self.signer, self.state, self.clock = signer, state, clock
        self.logs: Mapping[str, CheckpointVerifier] = dict(zip(origins, logs, strict=True))

    def add_checkpoint(self, body: bytes) -> str:
        request = parse_add_checkpoint(body)
        origin = claimed_origin(request.note)
        stored = self.state.latest(origin) if origin in self.logs else None
        latest = Checkpoint.parse(stored[0]) if stored else None
        new = check_add_checkpoint(request, self.logs, latest)
        expected = latest.size if latest else None
        if not self.state.advance(new.origin, expected, new.size, new.body(), request.note):
            now = self.state.latest(new.origin)
            known = Checkpoint.parse(now[0]).size if now else 0
            raise WitnessRefusal(409, f"the witness is at size {known}", known_size=known)
        log.info("witness cosigned", extra={"origin": new.origin, "size": new.size})
        return self.signer.cosign(new, int(self.clock.now().timestamp()))


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness the log asks: its key (name included) and how to reach it."""

    verifier: CosignatureVerifier
    client: WitnessClient


@dataclass(frozen=True)
class Collected:
    witness: str
    size: int
    ok: bool
    message: str


def collect_cosignatures(store: AuditLogStore, witnesses: Sequence[WitnessEndpoint]
                         ) -> list[Collected]:
    """Ask every witness to cosign the newest checkpoint; store what verifies."""
    with store.reading() as view:
        latest = view.latest_checkpoint()
        known = {w.verifier.name: view.cosigned_size(w.verifier.name) for w in witnesses}
    if latest is None:
        return []
    results = []
    for witness in witnesses:
        name = witness.verifier.name
        try:
            message = _collect_one(store, witness, latest.size, latest.note, known[name])
            results.append(Collected(name, latest.size, True, message))
        except (WitnessRefused, WitnessUnavailable, WitnessConflict, CheckpointError,
                queries.AuditLogDamaged) as exc:
            log.warning("witness did not cosign", extra={"witness": name, "error": str(exc)})
            results.append(Collected(name, latest.size, False, str(exc)))
    return results


def _collect_one(store: AuditLogStore, witness: WitnessEndpoint, size: int, note: str,
                 old: int) -> str:
    if old == size:
        return "already cosigned"
    try:
        lines = _submit(store, witness, size, note, old)
    except WitnessConflict as conflict:  # the witness knows better: ask again from its size
        lines = _submit(store, witness, size, note, conflict.known_size)
    for line in lines:
        try:
            timestamp = witness.verifier.verify(note + line)
        except CheckpointError:
            continue
        with store.sequencing() as writer:
            writer.add_cosignature(size, witness.verifier.name, line, timestamp)
        return "cosigned"
    raise CheckpointError(f"no valid cosignature by {witness.verifier.name} in the answer")


def _submit(store: AuditLogStore, witness: WitnessEndpoint, size: int, note: str,
            old: int) -> list[str]:
    if old > size:
        raise WitnessRefused(409, f"the witness cosigned size {old}, beyond this log's {size}: "
                             "the log was rolled back or forked")
    proof = queries.consistency(store, old, size).proof if 0 < old < size else []
    answer = witness.client.add_checkpoint(format_add_checkpoint(old, proof, note))
    return [line + "\n" for line in answer.splitlines() if line]
