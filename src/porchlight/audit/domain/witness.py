"""C2SP tlog-witness: the ``add-checkpoint`` request and a witness's rules for answering it.

Request body: ``old <size>`` (the size of the latest checkpoint the witness cosigned for
that log, as the client believes), zero or more base64 consistency proof lines from that
size to the new one, a blank line, then the signed checkpoint note.  The witness cosigns
only a checkpoint signed by the log's key that provably extends the last one it cosigned,
so it never cosigns two views of one log: a fork or a rollback is refused.  Each refusal
carries the HTTP status the spec gives it (``WitnessRefusal.status``).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from porchlight.audit.domain.checkpoint import Checkpoint, CheckpointVerifier
from porchlight.audit.domain.hashing import HASH_SIZE
from porchlight.audit.domain.note import CheckpointError, b64decode_canonical
from porchlight.audit.domain.verify import ProofError, verify_consistency

__all__ = [
    "MAX_PROOF_LINES",
    "MAX_REQUEST_BYTES",
    "AddCheckpoint",
    "WitnessRefusal",
    "check_add_checkpoint",
    "claimed_origin",
    "format_add_checkpoint",
    "parse_add_checkpoint",
    "parse_size_response",
]

MAX_PROOF_LINES = 63
MAX_REQUEST_BYTES = 16 * 1024
_OLD = re.compile(r"old (0|[1-9][0-9]{0,19})")
_SIZE = re.compile(r"(0|[1-9][0-9]{0,19})\n")


class WitnessRefusal(Exception):
    """The witness does not cosign; ``status`` is the HTTP answer, ``known_size`` the
    witness's size for a 409 on a stale ``old`` line."""

    def __init__(self, status: int, message: str, known_size: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.known_size = status, message, known_size


@dataclass(frozen=True)
class AddCheckpoint:
    old_size: int
    proof: tuple[bytes, ...]
    note: str


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    lines = [f"old {old_size}", *(base64.b64encode(h).decode("ascii") for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode("utf-8")


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse a request body; WitnessRefusal(400) when it is malformed."""
    if len(body) > MAX_REQUEST_BYTES:
        raise WitnessRefusal(400, "request body too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WitnessRefusal(400, "request body is not UTF-8") from exc
    head, blank, note = text.partition("\n\n")
    lines = head.split("\n")
    match = _OLD.fullmatch(lines[0])
    if not blank or match is None:
        raise WitnessRefusal(400, "request must start with 'old <size>' and a blank line")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessRefusal(400, f"more than {MAX_PROOF_LINES} proof lines")
    try:
        proof = tuple(b64decode_canonical(line, "proof line") for line in lines[1:])
    except CheckpointError as exc:
        raise WitnessRefusal(400, str(exc)) from exc
    if any(len(h) != HASH_SIZE for h in proof):
        raise WitnessRefusal(400, f"proof hashes must be {HASH_SIZE} bytes")
    old = int(match.group(1))
    if old >= 1 << 64:
        raise WitnessRefusal(400, "old size out of range")
    if old == 0 and proof:
        raise WitnessRefusal(400, "a proof from size 0 must be empty")
    return AddCheckpoint(old, proof, note)


def parse_size_response(body: bytes) -> int:
    """The size in a 409 ``text/x.tlog.size`` answer; ValueError when malformed."""
    match = _SIZE.fullmatch(body.decode("ascii", errors="replace"))
    if match is None:
        raise ValueError(f"malformed size response {body[:40]!r}")
    return int(match.group(1))


def claimed_origin(note: str) -> str:
    """The origin a note's checkpoint claims, unverified; WitnessRefusal(400) if none."""
    body = note.partition("\n\n")[0]
    try:
        return Checkpoint.parse(body + "\n").origin
    except CheckpointError as exc:
        raise WitnessRefusal(400, f"not a checkpoint: {exc}") from exc


def check_add_checkpoint(
    request: AddCheckpoint,
    logs: Mapping[str, CheckpointVerifier],
    latest: Checkpoint | None,
) -> Checkpoint:
    """The checkpoint to cosign, or WitnessRefusal.

    ``logs`` maps each witnessed origin to its key; ``latest`` is the last checkpoint this
    witness cosigned for the request's origin (None if it never did).
    """
    origin = claimed_origin(request.note)
    verifier = logs.get(origin)
    if verifier is None:
        raise WitnessRefusal(404, f"unknown log {origin!r}")
    try:
        new = verifier.open(request.note)
    except CheckpointError as exc:
        raise WitnessRefusal(403, f"checkpoint not signed by the log's key: {exc}") from exc
    if request.old_size > new.size:
        raise WitnessRefusal(400, f"old size {request.old_size} is beyond size {new.size}")
    known = latest.size if latest is not None else 0
    if request.old_size != known:
        raise WitnessRefusal(409, f"the witness is at size {known}", known_size=known)
    if latest is None or latest.size == 0:
        return new
    if new.size == latest.size:
        if new.root != latest.root:
            raise WitnessRefusal(409, f"fork: another root for size {new.size} was cosigned")
        if request.proof:
            raise WitnessRefusal(422, "a proof between equal sizes must be empty")
        return new
    try:
        verify_consistency(latest.size, new.size, request.proof, latest.root, new.root)
    except ProofError as exc:
        raise WitnessRefusal(422, f"bad consistency proof: {exc}") from exc
    return new
