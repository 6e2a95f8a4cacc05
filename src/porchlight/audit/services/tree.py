"""A Merkle tree recomputed from stored leaves, packed tightly enough for millions of them.

The verifier builds one only when a signed root does not match, to find where the stored
leaves stop being a prefix of the signed log: it answers the root of any prefix in
O(log n).  Each level is one bytearray of 32-byte hashes (64 bytes per leaf in all),
instead of millions of small bytes objects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from porchlight.audit.domain import HASH_SIZE, root_at
from porchlight.audit.services.ports import LeafData

_sha256 = hashlib.sha256


class RecomputedTree:
    """Every complete node over the given leaf hashes, level by level."""

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: bytes | bytearray) -> None:
        if len(leaf_hashes) % HASH_SIZE:
            raise ValueError("leaf hashes must be a whole number of 32-byte hashes")
        self._levels = [bytes(leaf_hashes)]
        pair = 2 * HASH_SIZE
        while len(self._levels[-1]) >= pair:
            below = memoryview(self._levels[-1])
            top = len(below) - len(below) % pair
            self._levels.append(b"".join(
                _sha256(b"\x01" + below[i : i + pair]).digest() for i in range(0, top, pair)
            ))

    @classmethod
    def from_chunks(
        cls, chunks: Iterable[Sequence[LeafData]], total: int,
        progress: Callable[[str, int, int], None],
    ) -> RecomputedTree:
        """Hash the bytes of the first ``total`` streamed leaves, whatever their indexes.

        Positions, not stored indexes, count: a gap in the indexes is itself a change the
        tree must reflect.  Stored leaf hashes are not trusted, the bytes are hashed.
        """
        hashes = bytearray()
        for rows in chunks:
            wanted = rows[: total - len(hashes) // HASH_SIZE]
            hashes += b"".join(_sha256(b"\x00" + row[0]).digest() for row in wanted)
            progress("locating", len(hashes) // HASH_SIZE, total)
            if len(hashes) // HASH_SIZE >= total:
                break
        return cls(hashes)

    @property
    def size(self) -> int:
        return len(self._levels[0]) // HASH_SIZE

    def get_node(self, level: int, index: int) -> bytes:
        """Hash of complete node ``(level, index)``; KeyError when it is not complete."""
        if level >= len(self._levels) or not 0 <= index < len(self._levels[level]) // HASH_SIZE:
            raise KeyError((level, index))
        return self._levels[level][index * HASH_SIZE : (index + 1) * HASH_SIZE]

    def root(self, size: int) -> bytes:
        """Root of the first ``size`` leaves."""
        if not 0 <= size <= self.size:
            raise ValueError(f"size {size} is outside 0..{self.size}")
        return root_at(size, self.get_node)
