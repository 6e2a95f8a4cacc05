"""Merkle tree hashing and the compact range of an append-only log (RFC 9162 §2.1.1).

A *complete node* ``(level, index)`` is the root of the perfect subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 is the leaf hash itself.  Complete
nodes never change once they exist, so a sequencer can write each of them exactly once.
Every other hash the RFC needs (the root of a tree whose size is not a power of two, or an
incomplete right-hand subtree) is a right-to-left fold of at most log2(n) complete nodes,
which is why this package never needs more than O(log n) stored nodes to answer anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

from porchlight.audit.domain.hashing import (
    EMPTY_ROOT,
    HASH_SIZE,
    LEAF_PREFIX,
    NODE_PREFIX,
    node_hash,
)

__all__ = [
    "CompactRange",
    "Node",
    "NodeGetter",
    "NodeId",
    "fetch_node",
    "fold",
    "range_hash",
    "range_nodes",
    "root_at",
    "root_from_leaf_hashes",
    "root_from_leaves",
]

NodeId = tuple[int, int]
"""``(level, index)`` of a complete node."""
Node = tuple[int, int, bytes]
"""``(level, index, hash)`` of a complete node."""
NodeGetter = Callable[[int, int], bytes]
"""``get_node(level, index)`` returns the stored hash of a complete node."""

# The bulk path hashes 2**10 leaves at a time level by level with list comprehensions,
# which is close to bare hashlib speed; memory stays bounded at one chunk.
_CHUNK_LEVEL = 10
_CHUNK = 1 << _CHUNK_LEVEL
_sha256 = hashlib.sha256


def fold(hashes: Sequence[bytes]) -> bytes:
    """Fold complete nodes (left to right, strictly decreasing sizes) into one root.

    The RFC splits a tree at the largest power of two below its size, so the root of
    any tree is its left-most complete subtree hashed with the fold of the rest —
    i.e. a fold from the right.
    """
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for i in range(len(hashes) - 2, -1, -1):
        result = node_hash(hashes[i], result)
    return result


def fetch_node(get_node: NodeGetter, level: int, index: int) -> bytes:
    """Call ``get_node`` and refuse anything that cannot be a SHA-256 hash.

    Storage corruption would otherwise surface much later as an unverifiable proof.
    """
    value = get_node(level, index)
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ValueError(f"stored node ({level}, {index}) is not a {HASH_SIZE}-byte hash")
    return value


def _reduce_perfect(hashes: list[bytes]) -> bytes:
    """Root of a perfect subtree whose leaf count is a power of two (level by level)."""
    sha, prefix = _sha256, NODE_PREFIX
    while len(hashes) > 1:
        pairs = iter(hashes)
        hashes = [sha(prefix + a + b).digest() for a, b in zip(pairs, pairs, strict=True)]
    return hashes[0]


class CompactRange:
    """The right border of a log growing from leaf 0: one complete node per set bit of size.

    This is all the state an append-only sequencer needs to compute the current root and
    every new complete node in O(log n) time and space.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._hashes: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        """Number of leaves covered so far."""
        return self._size

    def border(self) -> list[Node]:
        """The border nodes as ``(level, index, hash)``, largest subtree first."""
        ids = range_nodes(0, self._size) if self._size else []
        return [(level, index, h) for (level, index), h in zip(ids, self._hashes, strict=True)]

    def append(self, leaf_hash: bytes) -> list[Node]:
        """Add one leaf and return every complete node it created, leaf first.

        The returned nodes are exactly the rows a database-backed sequencer must store
        for this leaf (amortised two per append, at most log2(n) + 1).
        """
        if not isinstance(leaf_hash, bytes) or len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes")
        index, level, current = self._size, 0, leaf_hash
        created: list[Node] = [(0, index, current)]
        hashes = self._hashes
        while index & 1:
            current = node_hash(hashes.pop(), current)
            index >>= 1
            level += 1
            created.append((level, index, current))
        hashes.append(current)
        self._size += 1
        return created

    def append_all(self, leaf_hashes: Sequence[bytes]) -> list[Node]:
        """``append`` for many leaves: every complete node they create, in order."""
        if not all(isinstance(value, bytes) and len(value) == HASH_SIZE
                   for value in leaf_hashes):
            raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes")
        sha, prefix, hashes = _sha256, NODE_PREFIX, self._hashes
        created: list[Node] = []
        for index, current in enumerate(leaf_hashes, self._size):
            created.append((0, index, current))
            level = 0
            while index & 1:
                current = sha(prefix + hashes.pop() + current).digest()
                index >>= 1
                level += 1
                created.append((level, index, current))
            hashes.append(current)
        self._size += len(leaf_hashes)
        return created

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes without reporting the nodes created (bulk fast path).

        Lengths are checked a chunk at a time; if a bad hash is found, the leaves of the
        earlier chunks stay appended, so do not reuse the range after a ValueError.
        """
        iterator = iter(leaf_hashes)

        def take(count: int) -> list[bytes]:
            chunk = list(islice(iterator, count))
            if chunk and set(map(len, chunk)) != {HASH_SIZE}:
                raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes")
            return chunk

        self._extend(take)

    def extend_entries(self, entries: Iterable[bytes]) -> None:
        """Hash raw entries as leaves and append them (the fast path for re-verification)."""
        iterator: Iterator[bytes] = iter(entries)
        sha, prefix = _sha256, LEAF_PREFIX
        self._extend(lambda count: [sha(prefix + d).digest() for d in islice(iterator, count)])

    def _extend(self, take: Callable[[int], list[bytes]]) -> None:
        """Consume leaves: first up to a chunk boundary, then whole chunks as single nodes."""
        misaligned = -self._size % _CHUNK
        if misaligned:
            head = take(misaligned)
            for value in head:
                self._push(0, value)
            if len(head) < misaligned:
                return
        while True:
            chunk = take(_CHUNK)
            if len(chunk) < _CHUNK:
                for value in chunk:
                    self._push(0, value)
                return
            self._push(_CHUNK_LEVEL, _reduce_perfect(chunk))

    def _push(self, level: int, value: bytes) -> None:
        """Add a complete subtree at ``level``; the size must be a multiple of 2**level."""
        sha, prefix, hashes = _sha256, NODE_PREFIX, self._hashes
        carry = self._size >> level
        while carry & 1:
            value = sha(prefix + hashes.pop() + value).digest()
            carry >>= 1
        hashes.append(value)
        self._size += 1 << level

    def root(self) -> bytes:
        """MTH of the leaves so far (EMPTY_ROOT for an empty log)."""
        return fold(self._hashes)

    def copy(self) -> CompactRange:
        """An independent copy, e.g. to compute a tentative root before committing."""
        clone = CompactRange()
        clone._hashes = list(self._hashes)
        clone._size = self._size
        return clone

    @classmethod
    def from_nodes(cls, size: int, get_node: NodeGetter) -> CompactRange:
        """Rebuild the border for ``size`` from stored complete nodes so a sequencer can resume."""
        if size < 0:
            raise ValueError("size must be non-negative")
        rebuilt = cls()
        ids = range_nodes(0, size) if size else []
        rebuilt._hashes = [fetch_node(get_node, level, index) for level, index in ids]
        rebuilt._size = size
        return rebuilt

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size})"


def root_from_leaf_hashes(leaf_hashes: Iterable[bytes]) -> bytes:
    """Stream leaf hashes into a Merkle root in O(log n) memory."""
    compact = CompactRange()
    compact.extend(leaf_hashes)
    return compact.root()


def root_from_leaves(entries: Iterable[bytes]) -> bytes:
    """Stream raw entries (hashing each as a leaf) into a Merkle root in O(log n) memory."""
    compact = CompactRange()
    compact.extend_entries(entries)
    return compact.root()


def range_nodes(start: int, end: int) -> list[NodeId]:
    """Complete nodes whose fold is the hash of the subtree over leaves ``[start, end)``.

    Only ranges that are nodes of some RFC 9162 tree are accepted: ``start`` must be a
    multiple of the smallest power of two >= ``end - start``.  Prefixes ``[0, n)`` and
    the incomplete right-hand siblings that appear in proofs all qualify.
    """
    width = end - start
    if start < 0 or width <= 0:
        raise ValueError(f"empty or negative range [{start}, {end})")
    top = (width - 1).bit_length()
    if start & ((1 << top) - 1):
        raise ValueError(f"[{start}, {end}) is not a subtree of a Merkle tree")
    ids: list[NodeId] = []
    for level in range(top, -1, -1):
        if width >> level & 1:
            ids.append((level, start >> level))
            start += 1 << level
    return ids


def range_hash(start: int, end: int, get_node: NodeGetter) -> bytes:
    """MTH(D[start:end]) for a subtree range, from O(log n) stored complete nodes."""
    return fold([fetch_node(get_node, level, index) for level, index in range_nodes(start, end)])


def root_at(size: int, get_node: NodeGetter) -> bytes:
    """The root of the log when it had ``size`` leaves, from stored complete nodes."""
    if size < 0:
        raise ValueError("size must be non-negative")
    return range_hash(0, size, get_node) if size else EMPTY_ROOT
