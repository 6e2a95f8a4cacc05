"""Proof generation over stored complete nodes (RFC 9162 §2.1.3.1 and §2.1.4.1).

The RFC defines PATH and SUBPROOF recursively over the list of leaves.  A log backed by a
database cannot afford to read all leaves per request, so proofs are produced here as a
*plan*: for each proof element, the handful of complete nodes ``(level, index)`` whose
fold is that element.  Elements that are perfect subtrees are one stored node; the only
other kind — an incomplete right-hand subtree — is folded from O(log n) stored nodes.
A caller may fetch a whole plan in one batch query, or just pass ``get_node``.

Root and compact-range helpers live in :mod:`porchlight.audit.domain.compact` and are
re-exported here so that everything about the tree is importable from one module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from porchlight.audit.domain.compact import (
    CompactRange,
    Node,
    NodeGetter,
    NodeId,
    fetch_node,
    fold,
    range_hash,
    range_nodes,
    root_at,
    root_from_leaf_hashes,
    root_from_leaves,
)

__all__ = [
    "CompactRange",
    "InMemoryTree",
    "Node",
    "NodeGetter",
    "NodeId",
    "ProofPlan",
    "consistency_plan",
    "consistency_proof",
    "evaluate_plan",
    "inclusion_plan",
    "inclusion_proof",
    "range_hash",
    "range_nodes",
    "root_at",
    "root_from_leaf_hashes",
    "root_from_leaves",
]

ProofPlan = list[list[NodeId]]
"""One entry per proof element: the complete nodes to fold into that element."""


def _path_plan(level: int, index: int, size: int) -> ProofPlan:
    """Siblings of node ``(level, index)`` on its way up to the root of a ``size``-leaf tree.

    In the RFC tree a node whose right sibling would start at or beyond ``size`` has no
    sibling (it is promoted unchanged), and a right sibling that would run past ``size``
    is the incomplete subtree ``[start, size)``.
    """
    plan: ProofPlan = []
    for height in range(level, (size - 1).bit_length()):
        start = ((index >> (height - level)) ^ 1) << height
        if start < size:
            plan.append(range_nodes(start, min(start + (1 << height), size)))
    return plan


def inclusion_plan(index: int, size: int) -> ProofPlan:
    """Plan of the audit path PATH(index, D[size]), ordered from the leaf upwards."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    return _path_plan(0, index, size)


def consistency_plan(size1: int, size2: int) -> ProofPlan:
    """Plan of PROOF(size1, D[size2]) — empty when the sizes are equal.

    RFC 9162 only defines the proof for 0 < size1 <= size2; the empty tree is trivially
    a prefix of every tree and has no proof, so size1 == 0 is rejected.
    """
    if not 0 < size1 <= size2:
        raise ValueError(f"consistency proofs need 0 < size1 <= size2, got {size1}, {size2}")
    if size1 == size2:
        return []
    # The old tree's right edge is covered by the largest complete subtree ending exactly
    # at size1 (its level is the number of trailing zero bits of size1); the proof is that
    # node followed by its audit path in the new tree.
    level = (size1 & -size1).bit_length() - 1
    index = (size1 - 1) >> level
    # When size1 is a power of two that subtree is the old root, which the verifier
    # already has, so the RFC leaves it out.
    head: ProofPlan = [[(level, index)]] if index else []
    return head + _path_plan(level, index, size2)


def evaluate_plan(plan: ProofPlan, get_node: NodeGetter) -> list[bytes]:
    """Turn a plan into proof hashes by fetching and folding its nodes."""
    return [fold([fetch_node(get_node, lvl, idx) for lvl, idx in group]) for group in plan]


def inclusion_proof(index: int, size: int, get_node: NodeGetter) -> list[bytes]:
    """Inclusion proof for leaf ``index`` in the tree of ``size`` leaves, from stored nodes."""
    return evaluate_plan(inclusion_plan(index, size), get_node)


def consistency_proof(size1: int, size2: int, get_node: NodeGetter) -> list[bytes]:
    """Consistency proof from tree size ``size1`` to ``size2``, from stored nodes."""
    return evaluate_plan(consistency_plan(size1, size2), get_node)


class InMemoryTree:
    """A whole log kept in memory: every complete node, by level.

    Meant for tests, tools and small logs; it exercises exactly the same stored-node proof
    code path as a database-backed log would.
    """

    __slots__ = ("_compact", "_levels")

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = []
        self._compact = CompactRange()
        for value in leaf_hashes:
            self.append(value)

    @property
    def size(self) -> int:
        """Number of leaves in the log."""
        return self._compact.size

    def append(self, leaf_hash: bytes) -> None:
        """Append one leaf hash and store the complete nodes it creates."""
        levels = self._levels
        for level, _index, value in self._compact.append(leaf_hash):
            if level == len(levels):
                levels.append([])
            levels[level].append(value)

    def get_node(self, level: int, index: int) -> bytes:
        """Hash of complete node ``(level, index)``; KeyError if it does not exist yet."""
        if 0 <= level < len(self._levels) and 0 <= index < len(self._levels[level]):
            return self._levels[level][index]
        raise KeyError(f"no complete node ({level}, {index}) in a tree of size {self.size}")

    def leaf_hashes(self) -> Sequence[bytes]:
        """All leaf hashes in order (read-only view of level 0)."""
        return tuple(self._levels[0]) if self._levels else ()

    def root(self, size: int | None = None) -> bytes:
        """Root of the whole log, or of its first ``size`` leaves."""
        if size is None:
            return self._compact.root()
        self._check_size(size)
        return root_at(size, self.get_node)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Inclusion proof of leaf ``index`` in the tree of ``size`` leaves (default: all)."""
        size = self.size if size is None else self._check_size(size)
        return inclusion_proof(index, size, self.get_node)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Consistency proof from ``size1`` to ``size2`` leaves (default: all)."""
        size2 = self.size if size2 is None else self._check_size(size2)
        return consistency_proof(size1, size2, self.get_node)

    def _check_size(self, size: int) -> int:
        """Reject sizes the log has not reached, instead of failing deep in a lookup."""
        if not 0 <= size <= self.size:
            raise ValueError(f"size {size} is outside 0..{self.size}")
        return size
