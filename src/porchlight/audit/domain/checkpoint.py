"""Signed checkpoints: C2SP tlog-checkpoint bodies inside C2SP signed notes (Ed25519).

A checkpoint commits the log to one tree size and root.  Parsing accepts only the canonical
encoding, so one signature can never be read as two different tree heads.  Signing has one
safety rule from the product spec, enforced by ``sign_next``: a signer never signs a
checkpoint inconsistent with one it signed before — that is what would let a log show
different histories to different people.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from porchlight.audit.domain.hashing import EMPTY_ROOT, HASH_SIZE
from porchlight.audit.domain.note import (
    CheckpointError,
    NoteSigner,
    NoteVerifier,
    b64decode_canonical,
    check_text,
)
from porchlight.audit.domain.verify import ProofError, verify_consistency

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "CheckpointSigner",
    "CheckpointVerifier",
    "check_extension",
]

_SIZE = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True)
class Checkpoint:
    """One tree head: which log (origin), how many leaves (size), and the root at that size.

    ``extensions`` holds the optional, opaque extension lines of the C2SP format; Porchlight
    never writes any, but accepts them when parsing other logs' checkpoints.
    """

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Refuse to even represent a checkpoint that could not be signed or is false."""
        if not isinstance(self.origin, str) or not self.origin or "\n" in self.origin:
            raise CheckpointError("origin must be a non-empty single line")
        check_text(self.origin, "origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError("size must be an int")
        if not 0 <= self.size < 1 << 64:
            raise CheckpointError(f"size {self.size} is outside 0..2**64-1")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise CheckpointError(f"root must be {HASH_SIZE} bytes")
        if self.size == 0 and self.root != EMPTY_ROOT:
            raise CheckpointError("an empty tree must have the empty root")
        for line in self.extensions:
            if not isinstance(line, str) or not line or "\n" in line:
                raise CheckpointError("extension lines must be non-empty single lines")
            check_text(line, "extension line")

    def body(self) -> str:
        """The note text: origin, decimal size and base64 root, one per line."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a checkpoint body, accepting only the canonical encoding."""
        if not body.endswith("\n"):
            raise CheckpointError("checkpoint body must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3 or not all(lines):
            raise CheckpointError("checkpoint body needs at least three non-empty lines")
        origin, size_text, root_text, *extensions = lines
        if not _SIZE.fullmatch(size_text):
            raise CheckpointError(f"tree size {size_text!r} is not a canonical decimal")
        root = b64decode_canonical(root_text, "root hash")
        return cls(origin, int(size_text), root, tuple(extensions))


def check_extension(
    previous: Checkpoint | None, new: Checkpoint, consistency_proof: Sequence[bytes]
) -> None:
    """Raise CheckpointError unless ``new`` provably extends ``previous``.

    The proof is what makes "the log only grew" checkable instead of merely claimed.  The
    empty tree is a prefix of every tree, so after it only an empty proof is acceptable.
    """
    if previous is None:
        return
    if new.origin != previous.origin:
        raise CheckpointError(f"origin changed from {previous.origin!r} to {new.origin!r}")
    if new.size < previous.size:
        raise CheckpointError(f"tree shrank from {previous.size} to {new.size}")
    if previous.size == 0:
        if consistency_proof:
            raise CheckpointError("a proof from the empty tree must be empty")
        return
    try:
        verify_consistency(previous.size, new.size, consistency_proof, previous.root, new.root)
    except ProofError as exc:
        raise CheckpointError(f"new checkpoint is not an extension of the previous: {exc}") from exc


class CheckpointSigner(NoteSigner):
    """Signs checkpoints; build with ``generate``, ``from_signer_key`` or a private key."""

    __slots__ = ()

    def sign(self, checkpoint: Checkpoint) -> str:
        """Return the signed note for ``checkpoint``, with no history check (see sign_next)."""
        return self.sign_note(checkpoint.body())

    def sign_next(
        self, previous: Checkpoint | None, new: Checkpoint, consistency_proof: Sequence[bytes]
    ) -> str:
        """Sign ``new`` only if it provably extends ``previous``, the last checkpoint signed.

        ``previous`` is None only for the very first checkpoint of a log.
        """
        check_extension(previous, new, consistency_proof)
        return self.sign(new)


class CheckpointVerifier(NoteVerifier):
    """Opens signed checkpoints from one trusted key, optionally pinning the origin."""

    __slots__ = ("_origin",)

    def __init__(self, verifier_key: str, *, origin: str | None = None) -> None:
        super().__init__(verifier_key)
        self._origin = origin

    def open(self, note: str | bytes) -> Checkpoint:
        """Verify ``note`` and return its checkpoint; CheckpointError on any problem."""
        checkpoint = Checkpoint.parse(self.verify_note(note))
        if self._origin is not None and checkpoint.origin != self._origin:
            raise CheckpointError(f"origin {checkpoint.origin!r} is not {self._origin!r}")
        return checkpoint
