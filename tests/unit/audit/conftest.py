"""Fixtures for the audit-log tests: a naive RFC 9162 reference implementation.

The reference functions are literal transcriptions of the recursive definitions in RFC 9162
§2.1.1 (MTH), §2.1.3.1 (PATH) and §2.1.4.1 (PROOF/SUBPROOF).  They are slow and obviously
right, which is exactly what the optimised, stored-node code is compared against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from porchlight.audit.domain import CheckpointSigner, CheckpointVerifier, InMemoryTree, leaf_hash

Range = tuple[int, int]


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1), where the RFC splits a tree."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(entries: Sequence[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 9162 §2.1.1 defines it."""
    n = len(entries)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return _sha256(b"\x00" + entries[0])
    k = _split(n)
    return _sha256(b"\x01" + mth(entries[:k]) + mth(entries[k:]))


def path(m: int, entries: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) from RFC 9162 §2.1.3.1."""
    n = len(entries)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*path(m, entries[:k]), mth(entries[k:])]
    return [*path(m - k, entries[k:]), mth(entries[:k])]


def subproof(m: int, entries: Sequence[bytes], complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) from RFC 9162 §2.1.4.1."""
    n = len(entries)
    if m == n:
        return [] if complete else [mth(entries)]
    k = _split(n)
    if m <= k:
        return [*subproof(m, entries[:k], complete), mth(entries[k:])]
    return [*subproof(m - k, entries[k:], False), mth(entries[:k])]


def proof(m: int, entries: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true)."""
    return subproof(m, entries, True)


def path_ranges(m: int, lo: int, hi: int) -> list[Range]:
    """The leaf range [a, b) each element of PATH(m, D[lo:hi]) is the hash of."""
    if hi - lo == 1:
        return []
    k = _split(hi - lo)
    if m < k:
        return [*path_ranges(m, lo, lo + k), (lo + k, hi)]
    return [*path_ranges(m - k, lo + k, hi), (lo, lo + k)]


def subproof_ranges(m: int, lo: int, hi: int, complete: bool) -> list[Range]:
    """The leaf range [a, b) each element of SUBPROOF(m, D[lo:hi], b) is the hash of."""
    if m == hi - lo:
        return [] if complete else [(lo, hi)]
    k = _split(hi - lo)
    if m <= k:
        return [*subproof_ranges(m, lo, lo + k, complete), (lo + k, hi)]
    return [*subproof_ranges(m - k, lo + k, hi, False), (lo, lo + k)]


def _rebuild(lo: int, hi: int, known: dict[Range, bytes]) -> bytes | None:
    """MTH(D[lo:hi]) using only subtree hashes in ``known``; None if they do not suffice."""
    if (lo, hi) in known:
        return known[(lo, hi)]
    if hi - lo <= 1:
        return None
    k = _split(hi - lo)
    left, right = _rebuild(lo, lo + k, known), _rebuild(lo + k, hi, known)
    if left is None or right is None:
        return None
    return _sha256(b"\x01" + left + right)


def inclusion_holds(
    leaf: bytes, index: int, size: int, proof_: Sequence[bytes], root: bytes
) -> bool:
    """Oracle: do the hashes, read as PATH(index, D[size]), rebuild ``root``?

    This is the meaning of an inclusion proof, stated without the RFC's bit-twiddling
    verifier, so it can judge mutated inputs the verifier should (or may) accept.
    """
    if not 0 <= index < size:
        return False
    ranges = path_ranges(index, 0, size)
    if len(ranges) != len(proof_):
        return False
    known = dict(zip(ranges, proof_, strict=True))
    known[(index, index + 1)] = leaf
    return _rebuild(0, size, known) == root


def consistency_holds(
    size1: int, size2: int, proof_: Sequence[bytes], root1: bytes, root2: bytes
) -> bool:
    """Oracle: do the hashes, read as PROOF(size1, D[size2]), rebuild both roots?"""
    if not 0 < size1 <= size2:
        return False
    if size1 == size2:
        return not proof_ and root1 == root2
    ranges = subproof_ranges(size1, 0, size2, True)
    if len(ranges) != len(proof_):
        return False
    known = dict(zip(ranges, proof_, strict=True))
    known.setdefault((0, size1), root1)
    return _rebuild(0, size1, known) == root1 and _rebuild(0, size2, known) == root2


@pytest.fixture(scope="session")
def naive() -> SimpleNamespace:
    """The reference implementation, as one namespace."""
    return SimpleNamespace(
        mth=mth,
        path=path,
        proof=proof,
        path_ranges=path_ranges,
        inclusion_holds=inclusion_holds,
        consistency_holds=consistency_holds,
    )


@pytest.fixture(scope="session")
def entries() -> list[bytes]:
    """Distinct log entries, so no two different subtrees can share a hash."""
    return [b"entry-%d" % i for i in range(4096)]


CHECKPOINT_ORIGIN = "porchlight.example/log"


@pytest.fixture(scope="session")
def signer() -> CheckpointSigner:
    """A fixed key keeps the suite deterministic; its key hash is c5af1d49."""
    return CheckpointSigner(CHECKPOINT_ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(32)))


@pytest.fixture(scope="session")
def verifier(signer: CheckpointSigner) -> CheckpointVerifier:
    """Trusts ``signer`` and pins the origin."""
    return CheckpointVerifier(signer.verifier_key, origin=CHECKPOINT_ORIGIN)


@pytest.fixture(scope="session")
def log() -> InMemoryTree:
    """A small log whose checkpoints the signing tests use."""
    return InMemoryTree(leaf_hash(b"record-%d" % i) for i in range(40))
