"""Property tests: generated proofs verify, and tampering is caught.

The leaves are distinct, so no two different subtrees share a hash; under that condition the
only way a mutated proof can still verify is if the mutated claim is genuinely true.  For
bit flips and index changes that never happens.  A tree *size* is not hashed into anything,
so for a few shapes the same hashes really do prove the same thing for a neighbouring size
(see test_a_proof_alone_does_not_pin_the_tree_size); those mutations are judged by the
naive oracle in conftest.py instead of being assumed to fail.
"""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from porchlight.audit.domain import (
    InMemoryTree,
    ProofError,
    leaf_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 4096
_HASHES = [leaf_hash(b"entry-%d" % i) for i in range(MAX_SIZE)]
_TREE = InMemoryTree(_HASHES)
# No example database: the suite must not write outside its own files.
SETTINGS = settings(max_examples=200, deadline=None, database=None)

_EDGES = sorted({n for k in range(13) for n in (2**k - 1, 2**k, 2**k + 1) if 1 <= n <= MAX_SIZE})
sizes = st.one_of(st.integers(1, MAX_SIZE), st.sampled_from(_EDGES))


@cache
def _root(size: int) -> bytes:
    return _TREE.root(size)


def _flip(value: bytes, bit: int) -> bytes:
    bit %= len(value) * 8
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def _inclusion_ok(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except ProofError:
        return False
    return True


def _consistency_ok(size1: int, size2: int, proof: list[bytes], r1: bytes, r2: bytes) -> bool:
    try:
        verify_consistency(size1, size2, proof, r1, r2)
    except ProofError:
        return False
    return True


@st.composite
def inclusion_cases(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(sizes)
    index = draw(st.one_of(st.integers(0, size - 1), st.sampled_from([0, size - 1])))
    return index, size


@st.composite
def consistency_cases(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(sizes)
    size1 = draw(st.one_of(st.integers(1, size2), st.sampled_from(_EDGES), st.just(size2)))
    return min(size1, size2), size2


@SETTINGS
@given(inclusion_cases())
def test_every_inclusion_proof_verifies(case: tuple[int, int]) -> None:
    index, size = case
    proof = _TREE.inclusion_proof(index, size)
    verify_inclusion(_HASHES[index], index, size, proof, _root(size))
    assert root_from_inclusion_proof(_HASHES[index], index, size, proof) == _root(size)


@SETTINGS
@given(consistency_cases())
def test_every_consistency_proof_verifies(case: tuple[int, int]) -> None:
    size1, size2 = case
    proof = _TREE.consistency_proof(size1, size2)
    verify_consistency(size1, size2, proof, _root(size1), _root(size2))


@SETTINGS
@given(inclusion_cases(), st.sampled_from(["proof", "root", "leaf"]), st.integers(0, 10**6))
def test_any_bit_flip_breaks_an_inclusion_proof(
    case: tuple[int, int], target: str, choice: int
) -> None:
    index, size = case
    leaf, proof, root = _HASHES[index], _TREE.inclusion_proof(index, size), _root(size)
    if target == "proof" and proof:
        position = choice % len(proof)
        proof[position] = _flip(proof[position], choice // len(proof))
    elif target == "root":
        root = _flip(root, choice)
    else:
        leaf = _flip(leaf, choice)
    assert not _inclusion_ok(leaf, index, size, proof, root)


@SETTINGS
@given(inclusion_cases(), st.sampled_from([-1, 1]))
def test_a_different_index_never_verifies(case: tuple[int, int], delta: int) -> None:
    index, size = case
    proof = _TREE.inclusion_proof(index, size)
    assert not _inclusion_ok(_HASHES[index], index + delta, size, proof, _root(size))


@SETTINGS
@given(inclusion_cases(), st.sampled_from([-1, 1]))
def test_a_different_size_verifies_only_when_the_claim_is_true(
    naive: SimpleNamespace, case: tuple[int, int], delta: int
) -> None:
    index, size = case
    leaf, proof, root = _HASHES[index], _TREE.inclusion_proof(index, size), _root(size)
    expected = naive.inclusion_holds(leaf, index, size + delta, proof, root)
    assert _inclusion_ok(leaf, index, size + delta, proof, root) == expected


@SETTINGS
@given(consistency_cases(), st.sampled_from(["proof", "root1", "root2"]), st.integers(0, 10**6))
def test_any_bit_flip_breaks_a_consistency_proof(
    case: tuple[int, int], target: str, choice: int
) -> None:
    size1, size2 = case
    proof, root1, root2 = _TREE.consistency_proof(size1, size2), _root(size1), _root(size2)
    if target == "proof" and proof:
        position = choice % len(proof)
        proof[position] = _flip(proof[position], choice // len(proof))
    elif target == "root1":
        root1 = _flip(root1, choice)
    else:
        root2 = _flip(root2, choice)
    assert not _consistency_ok(size1, size2, proof, root1, root2)


@SETTINGS
@given(consistency_cases(), st.sampled_from(["size1", "size2"]), st.sampled_from([-1, 1]))
def test_different_sizes_verify_only_when_the_claim_is_true(
    naive: SimpleNamespace, case: tuple[int, int], which: str, delta: int
) -> None:
    size1, size2 = case
    proof, root1, root2 = _TREE.consistency_proof(size1, size2), _root(size1), _root(size2)
    if which == "size1":
        size1 += delta
    else:
        size2 += delta
    expected = naive.consistency_holds(size1, size2, proof, root1, root2)
    assert _consistency_ok(size1, size2, proof, root1, root2) == expected


def test_a_proof_alone_does_not_pin_the_tree_size() -> None:
    # PATH(0, D[3]) and PATH(0, D[4]) have the same shape, so the size-3 proof also
    # "proves" leaf 0 under root3 for a claimed size of 4.  This is correct RFC behaviour:
    # the signed checkpoint binds size and root together, so the pair (4, root3) is never
    # presented by an honest log.
    proof = _TREE.inclusion_proof(0, 3)
    verify_inclusion(_HASHES[0], 0, 4, proof, _root(3))
    consistency = _TREE.consistency_proof(1, 3)
    verify_consistency(1, 4, consistency, _root(1), _root(3))
