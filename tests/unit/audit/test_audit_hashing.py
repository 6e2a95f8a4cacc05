"""Known-answer tests for the hash primitives and tree roots."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest

from porchlight.audit.domain import (
    EMPTY_ROOT,
    CompactRange,
    InMemoryTree,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    root_from_leaves,
)

# The eight leaf inputs of the RFC 6962 test tree (tests/data/rfc6962/README.md).
RFC_LEAVES = [
    bytes.fromhex(value)
    for value in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
RFC_ROOT_8 = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
# Roots of the prefixes of that tree, as published with the same test data.
RFC_PREFIX_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: RFC_ROOT_8.hex(),
}


def test_empty_root_is_the_hash_of_the_empty_string() -> None:
    expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert EMPTY_ROOT.hex() == expected
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert root_from_leaves([]) == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT
    assert InMemoryTree().root() == EMPTY_ROOT


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert leaf_hash(b"") == bytes.fromhex(RFC_PREFIX_ROOTS[1])
    left, right = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    # A node can never pass for a leaf over the same bytes.
    assert node_hash(left, right) != leaf_hash(left + right)
    assert node_hash(left, right) != node_hash(right, left)


def test_root_of_the_eight_rfc_leaves() -> None:
    hashes = [leaf_hash(value) for value in RFC_LEAVES]
    assert root_from_leaves(RFC_LEAVES) == RFC_ROOT_8
    assert root_from_leaf_hashes(hashes) == RFC_ROOT_8
    assert root_from_leaf_hashes(iter(hashes)) == RFC_ROOT_8
    assert InMemoryTree(hashes).root() == RFC_ROOT_8


@pytest.mark.parametrize("size", sorted(RFC_PREFIX_ROOTS))
def test_roots_of_the_rfc_prefixes(size: int) -> None:
    tree = InMemoryTree(leaf_hash(value) for value in RFC_LEAVES)
    assert tree.root(size).hex() == RFC_PREFIX_ROOTS[size]
    assert root_from_leaves(RFC_LEAVES[:size]).hex() == RFC_PREFIX_ROOTS[size]


def test_bulk_paths_agree_across_chunk_boundaries(
    naive: SimpleNamespace, entries: list[bytes]
) -> None:
    # The fast path collapses whole 1024-leaf chunks; mixing it with single appends and
    # starting from unaligned sizes must not change any root.
    hashes = [leaf_hash(entry) for entry in entries]
    for cut in (0, 1, 7, 1023, 1024, 1025, 2048, 3000):
        compact = CompactRange()
        compact.extend(hashes[:cut])
        compact.append(hashes[cut])
        compact.extend_entries(entries[cut + 1 :])
        assert compact.size == len(entries)
        assert compact.root() == root_from_leaf_hashes(hashes)
    assert root_from_leaves(entries) == naive.mth(entries)
    assert root_from_leaves(entries[:2049]) == naive.mth(entries[:2049])
