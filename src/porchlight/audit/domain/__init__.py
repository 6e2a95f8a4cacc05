"""Porchlight's transparency log core: an RFC 9162 Merkle tree and signed checkpoints.

Pure library code (standard library plus ``cryptography`` for Ed25519): it knows nothing
about databases or HTTP.  Storage plugs in through ``get_node(level, index)`` callables
that return the hash of a complete subtree, which is all proofs and roots ever need.
"""

from porchlight.audit.domain.checkpoint import (
    Checkpoint,
    CheckpointError,
    CheckpointSigner,
    CheckpointVerifier,
    check_extension,
)
from porchlight.audit.domain.cosignature import (
    CosignatureSigner,
    CosignatureVerifier,
    cosignature_key_hash,
    cosigned_message,
)
from porchlight.audit.domain.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash
from porchlight.audit.domain.note import NoteSigner, NoteVerifier, key_hash
from porchlight.audit.domain.tree import (
    CompactRange,
    InMemoryTree,
    Node,
    NodeGetter,
    NodeId,
    ProofPlan,
    consistency_plan,
    consistency_proof,
    evaluate_plan,
    inclusion_plan,
    inclusion_proof,
    range_hash,
    range_nodes,
    root_at,
    root_from_leaf_hashes,
    root_from_leaves,
)
from porchlight.audit.domain.verify import (
    ProofError,
    consistency_proof_length,
    inclusion_proof_length,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from porchlight.audit.domain.witness import (
    MAX_REQUEST_BYTES,
    AddCheckpoint,
    WitnessRefusal,
    check_add_checkpoint,
    claimed_origin,
    format_add_checkpoint,
    parse_add_checkpoint,
    parse_size_response,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_REQUEST_BYTES",
    "AddCheckpoint",
    "Checkpoint",
    "CheckpointError",
    "CheckpointSigner",
    "CheckpointVerifier",
    "CompactRange",
    "CosignatureSigner",
    "CosignatureVerifier",
    "InMemoryTree",
    "Node",
    "NodeGetter",
    "NodeId",
    "NoteSigner",
    "NoteVerifier",
    "ProofError",
    "ProofPlan",
    "WitnessRefusal",
    "check_add_checkpoint",
    "check_extension",
    "claimed_origin",
    "consistency_plan",
    "consistency_proof",
    "consistency_proof_length",
    "cosignature_key_hash",
    "cosigned_message",
    "evaluate_plan",
    "format_add_checkpoint",
    "inclusion_plan",
    "inclusion_proof",
    "inclusion_proof_length",
    "key_hash",
    "leaf_hash",
    "node_hash",
    "parse_add_checkpoint",
    "parse_size_response",
    "range_hash",
    "range_nodes",
    "root_at",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "root_from_leaves",
    "verify_consistency",
    "verify_inclusion",
]
