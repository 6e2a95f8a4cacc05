"""RFC 9162 §2.1.1 hash primitives for the Porchlight audit log.

Leaves and interior nodes are hashed with different one-byte prefixes (0x00 and
0x01).  This domain separation is what stops an attacker from presenting an
interior node as if it were a leaf (a second-preimage attack on the tree), so
every hash in the log must go through these two functions.
"""

from __future__ import annotations

import hashlib

__all__ = ["EMPTY_ROOT", "HASH_SIZE", "LEAF_PREFIX", "NODE_PREFIX", "leaf_hash", "node_hash"]

HASH_SIZE = 32
"""Size in bytes of every hash in the log (SHA-256)."""

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""MTH({}) — the root of the empty tree is the hash of the empty string, unprefixed."""

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """Return MTH({d}) = SHA-256(0x00 || data), the hash stored for one log entry."""
    return _sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right), the hash of an interior node."""
    return _sha256(NODE_PREFIX + left + right).digest()
