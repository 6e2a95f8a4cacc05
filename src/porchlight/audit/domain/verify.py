"""Proof verification, following RFC 9162 §2.1.3.2 and §2.1.4.2 step by step.

Verification is what an auditor runs against a log it does not trust, so every input is
treated as hostile: sizes and indices are range-checked, every hash must be 32 bytes, and
the proof must have exactly the length the RFC algorithm consumes for the given sizes
(the algorithm itself also rejects proofs that are too long or too short; the up-front
check only makes the error message say what is actually wrong).
"""

from __future__ import annotations

from collections.abc import Sequence

from porchlight.audit.domain.hashing import HASH_SIZE, node_hash

__all__ = [
    "ProofError",
    "consistency_proof_length",
    "inclusion_proof_length",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]


class ProofError(ValueError):
    """An inclusion or consistency proof is malformed or does not verify."""


def _check_count(name: str, value: int) -> None:
    """Sizes and indices are unsigned 64-bit in the RFC; reject anything else early."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProofError(f"{name} must be an int, got {type(value).__name__}")
    if not 0 <= value < 1 << 64:
        raise ProofError(f"{name} {value} is outside the range of a uint64")


def _check_hashes(what: str, hashes: Sequence[bytes]) -> None:
    """Every hash that enters a computation must be a SHA-256 digest."""
    for position, value in enumerate(hashes):
        if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
            raise ProofError(f"{what}[{position}] is not a {HASH_SIZE}-byte hash")


def _short(value: bytes) -> str:
    return bytes(value).hex()[:16] or "<empty>"


def _path_length(index: int, size: int) -> int:
    """Length of the audit path of ``index`` in a ``size``-leaf tree (0 <= index < size).

    Below the level where ``index`` and the last leaf share an ancestor every node has a
    sibling; above it, only nodes that are right children of the border do.
    """
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def inclusion_proof_length(index: int, size: int) -> int:
    """Number of hashes in a valid inclusion proof for ``index`` in ``size`` leaves."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    return _path_length(index, size)


def consistency_proof_length(size1: int, size2: int) -> int:
    """Number of hashes in a valid consistency proof for 0 < size1 <= size2."""
    if not 0 < size1 <= size2:
        raise ProofError(f"no consistency proof exists for sizes {size1} -> {size2}")
    if size1 == size2:
        return 0
    shift = (size1 & -size1).bit_length() - 1
    first, last = (size1 - 1) >> shift, (size2 - 1) >> shift
    return (1 if first else 0) + _path_length(first, last + 1)


def _expect_length(proof: Sequence[bytes], want: int) -> None:
    if len(proof) != want:
        raise ProofError(f"proof has {len(proof)} hashes, expected {want}")


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Recompute the root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1-4)."""
    _check_count("leaf index", index)
    _check_count("tree size", size)
    _expect_length(proof, inclusion_proof_length(index, size))
    _check_hashes("leaf hash", [leaf_hash])
    _check_hashes("proof", proof)
    fn, sn, result = index, size - 1, leaf_hash
    for sibling in proof:
        if sn == 0:
            raise ProofError("proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("proof is shorter than the path to the root")
    return result


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless ``proof`` shows leaf ``index`` of ``size`` has ``leaf_hash``."""
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if computed != root:
        raise ProofError(
            f"inclusion proof yields root {_short(computed)}…, expected {_short(root)}…"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Raise ProofError unless ``proof`` shows tree ``size1`` is a prefix of tree ``size2``.

    size1 == size2 needs an empty proof and identical roots.  size1 == 0 is rejected: the
    RFC defines proofs only for 0 < size1, and a "proof" from the empty tree proves nothing.
    """
    _check_count("size1", size1)
    _check_count("size2", size2)
    if size1 > size2:
        raise ProofError(f"size1 {size1} is larger than size2 {size2}")
    if size1 == 0:
        raise ProofError("consistency from an empty tree (size1 == 0) is not verifiable")
    _expect_length(proof, consistency_proof_length(size1, size2))
    if size1 == size2:
        if root1 != root2:
            raise ProofError("sizes are equal but the roots differ")
        return
    _check_hashes("proof", proof)
    old, new = _consistency_roots(size1, size2, proof, root1)
    if old != root1:
        raise ProofError(f"proof yields old root {_short(old)}…, expected {_short(root1)}…")
    if new != root2:
        raise ProofError(f"proof yields new root {_short(new)}…, expected {_short(root2)}…")


def _consistency_roots(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> tuple[bytes, bytes]:
    """RFC 9162 §2.1.4.2 steps 2-7: recompute (old root, new root) from the proof."""
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for value in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(value, fr), node_hash(value, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, value)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the path to the root")
    return fr, sr
