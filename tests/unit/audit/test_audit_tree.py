"""The stored-node tree code against the naive RFC 9162 definitions (conftest.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from porchlight.audit.domain import (
    CompactRange,
    InMemoryTree,
    NodeGetter,
    consistency_plan,
    consistency_proof,
    consistency_proof_length,
    inclusion_plan,
    inclusion_proof,
    inclusion_proof_length,
    leaf_hash,
    range_hash,
    range_nodes,
    root_at,
)

PROOF_SIZES = range(1, 41)


@pytest.fixture(scope="module")
def tree(entries: list[bytes]) -> InMemoryTree:
    return InMemoryTree(leaf_hash(entry) for entry in entries[:128])


def _guarded(tree: InMemoryTree, size: int, reads: list[tuple[int, int]]) -> NodeGetter:
    """A get_node that fails on nodes a tree of ``size`` leaves could not have stored yet."""

    def get_node(level: int, index: int) -> bytes:
        assert (index + 1) << level <= size, f"read ({level}, {index}) beyond size {size}"
        reads.append((level, index))
        return tree.get_node(level, index)

    return get_node


def test_compact_range_nodes_match_naive_mth(naive: SimpleNamespace, entries: list[bytes]) -> None:
    compact, stored = CompactRange(), {}
    assert compact.root() == naive.mth([])
    for size in range(1, 71):
        created = compact.append(leaf_hash(entries[size - 1]))
        trailing = (size & -size).bit_length() - 1
        assert [(level, index) for level, index, _ in created] == [
            (level, (size - 1) >> level) for level in range(trailing + 1)
        ]
        for level, index, value in created:
            assert value == naive.mth(entries[index << level : (index + 1) << level])
            stored[(level, index)] = value
        assert compact.size == size
        assert compact.root() == naive.mth(entries[:size])
        border = compact.border()
        assert [(lvl, idx) for lvl, idx, _ in border] == range_nodes(0, size)
        assert all(stored[(lvl, idx)] == value for lvl, idx, value in border)


@pytest.mark.parametrize("size", range(71))
def test_from_nodes_resumes_a_sequencer(entries: list[bytes], size: int) -> None:
    original, stored = CompactRange(), {}
    for entry in entries[:size]:
        stored.update({(lvl, idx): h for lvl, idx, h in original.append(leaf_hash(entry))})
    resumed = CompactRange.from_nodes(size, lambda level, index: stored[(level, index)])
    assert resumed.size == size
    assert resumed.root() == original.root()
    extra = leaf_hash(b"next")
    assert resumed.append(extra) == original.append(extra)
    assert resumed.root() == original.root()


@pytest.mark.parametrize("size", PROOF_SIZES)
def test_inclusion_proofs_equal_naive_path(
    naive: SimpleNamespace, entries: list[bytes], tree: InMemoryTree, size: int
) -> None:
    for index in range(size):
        reads: list[tuple[int, int]] = []
        produced = inclusion_proof(index, size, _guarded(tree, size, reads))
        assert produced == naive.path(index, entries[:size])
        assert len(produced) == inclusion_proof_length(index, size)
        assert len(reads) <= 2 * size.bit_length() + 1
        assert tree.inclusion_proof(index, size) == produced


@pytest.mark.parametrize("size2", PROOF_SIZES)
def test_consistency_proofs_equal_naive_subproof(
    naive: SimpleNamespace, entries: list[bytes], tree: InMemoryTree, size2: int
) -> None:
    for size1 in range(1, size2 + 1):
        reads: list[tuple[int, int]] = []
        produced = consistency_proof(size1, size2, _guarded(tree, size2, reads))
        assert produced == naive.proof(size1, entries[:size2])
        assert len(produced) == consistency_proof_length(size1, size2)
        assert len(reads) <= 2 * size2.bit_length() + 2
        assert tree.consistency_proof(size1, size2) == produced


def test_proofs_in_a_large_log_read_only_logarithmically_many_nodes(
    tree: InMemoryTree,
) -> None:
    # Sizes near powers of two have the longest incomplete right-hand subtrees.
    for size in (63, 64, 65, 100, 127, 128):
        for index in (0, size // 3, size - 1):
            reads: list[tuple[int, int]] = []
            inclusion_proof(index, size, _guarded(tree, size, reads))
            assert len(reads) <= 2 * size.bit_length() + 1
        for size1 in (1, size // 2, size - 1):
            reads = []
            consistency_proof(size1, size, _guarded(tree, size, reads))
            assert len(reads) <= 2 * size.bit_length() + 2


def test_plans_name_only_complete_nodes_inside_the_tree() -> None:
    assert inclusion_plan(0, 1) == []
    assert inclusion_plan(2, 3) == [[(1, 0)]]
    assert inclusion_plan(0, 7) == [[(0, 1)], [(1, 1)], [(1, 2), (0, 6)]]
    assert consistency_plan(4, 4) == []
    assert consistency_plan(4, 8) == [[(2, 1)]]
    assert consistency_plan(6, 8) == [[(1, 2)], [(1, 3)], [(2, 0)]]
    assert consistency_plan(3, 7) == [[(0, 2)], [(0, 3)], [(1, 0)], [(1, 2), (0, 6)]]


def test_range_hash_and_root_at(naive: SimpleNamespace, entries: list[bytes]) -> None:
    tree = InMemoryTree(leaf_hash(entry) for entry in entries[:64])
    for size in range(65):
        assert root_at(size, tree.get_node) == naive.mth(entries[:size])
    assert range_hash(32, 45, tree.get_node) == naive.mth(entries[32:45])
    assert range_hash(8, 16, tree.get_node) == naive.mth(entries[8:16])
    assert range_nodes(32, 45) == [(3, 4), (2, 10), (0, 44)]


@pytest.mark.parametrize(("start", "end"), [(3, 5), (4, 9), (2, 2), (5, 4), (-1, 1)])
def test_range_nodes_rejects_ranges_that_are_not_subtrees(start: int, end: int) -> None:
    with pytest.raises(ValueError):
        range_nodes(start, end)


def test_generation_rejects_impossible_arguments(tree: InMemoryTree) -> None:
    for index, size in ((0, 0), (5, 5), (-1, 4)):
        with pytest.raises(ValueError):
            inclusion_proof(index, size, tree.get_node)
    for size1, size2 in ((0, 0), (0, 5), (6, 5), (-1, 3)):
        with pytest.raises(ValueError):
            consistency_proof(size1, size2, tree.get_node)
    with pytest.raises(ValueError):
        tree.root(tree.size + 1)
    with pytest.raises(ValueError):
        tree.inclusion_proof(0, tree.size + 1)
    with pytest.raises(KeyError):
        tree.get_node(0, tree.size)
    with pytest.raises(KeyError):
        tree.get_node(-1, 0)


def test_corrupt_storage_is_refused(tree: InMemoryTree) -> None:
    def truncated(level: int, index: int) -> bytes:
        return tree.get_node(level, index)[:31]

    with pytest.raises(ValueError, match="32-byte"):
        inclusion_proof(3, 20, truncated)
    with pytest.raises(ValueError, match="32-byte"):
        CompactRange.from_nodes(20, truncated)
    with pytest.raises(ValueError):
        CompactRange.from_nodes(-1, tree.get_node)


@pytest.mark.parametrize("size", [0, 1, 5, 8, 13])
def test_append_all_is_append_leaf_by_leaf(entries: list[bytes], size: int) -> None:
    one, many = CompactRange(), CompactRange()
    for entry in entries[:size]:
        one.append(leaf_hash(entry))
    many.append_all([leaf_hash(entry) for entry in entries[:size]])
    more = [leaf_hash(entry) for entry in entries[size:size + 40]]
    assert many.append_all(more) == [node for value in more for node in one.append(value)]
    assert (many.size, many.root()) == (one.size, one.root())
    with pytest.raises(ValueError):
        many.append_all([more[0], b"x" * 31])


def test_append_rejects_values_that_are_not_leaf_hashes() -> None:
    compact = CompactRange()
    for bad in (b"", b"x" * 31, b"x" * 33):
        with pytest.raises(ValueError):
            compact.append(bad)
    assert compact.size == 0


def test_copy_is_independent(entries: list[bytes]) -> None:
    compact = CompactRange()
    compact.extend(leaf_hash(entry) for entry in entries[:5])
    clone = compact.copy()
    clone.append(leaf_hash(b"more"))
    assert (compact.size, clone.size) == (5, 6)
    assert compact.root() != clone.root()
    assert repr(compact) == "CompactRange(size=5)"
    assert InMemoryTree(leaf_hash(e) for e in entries[:3]).leaf_hashes() == tuple(
        leaf_hash(e) for e in entries[:3]
    )


def test_extend_rejects_values_that_are_not_leaf_hashes(entries: list[bytes]) -> None:
    good = [leaf_hash(entry) for entry in entries[:2000]]
    for position in (0, 5, 1500):
        bad = [*good[:position], b"short", *good[position:]]
        with pytest.raises(ValueError, match="32 bytes"):
            CompactRange().extend(bad)
